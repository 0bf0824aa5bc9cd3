import { createHash } from 'node:crypto';
import { invalidArgument } from './errors';

/** An OCI digest `algorithm:hex`. Only sha256 (and sha512 for reading) are accepted. */
export type Digest = string;

const RE: Record<string, RegExp> = {
  sha256: /^sha256:[a-f0-9]{64}$/,
  sha512: /^sha512:[a-f0-9]{128}$/,
};

export const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function parseDigest(d: string): { algorithm: string; hex: string } {
  if (typeof d !== 'string' || !d) throw invalidArgument('digest: must not be empty');
  const i = d.indexOf(':');
  const algorithm = i > 0 ? d.slice(0, i) : '';
  const re = RE[algorithm];
  if (!re) throw invalidArgument(`digest ${JSON.stringify(d.slice(0, 140))}: unsupported or malformed digest`);
  if (!re.test(d)) throw invalidArgument(`digest ${JSON.stringify(d.slice(0, 140))}: invalid digest format`);
  return { algorithm, hex: d.slice(i + 1) };
}

export function validateDigest(d: string): Digest {
  parseDigest(d);
  return d;
}

export function isDigest(d: string): boolean {
  try {
    parseDigest(d);
    return true;
  } catch {
    return false;
  }
}

export function sha256Of(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
