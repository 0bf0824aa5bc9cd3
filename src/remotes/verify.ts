import { createHash, type Hash } from 'node:crypto';
import { parseDigest } from '../core/digest';
import { failedPrecondition } from '../core/errors';
import type { Descriptor } from '../core/types';

/**
 * Checks bytes against a descriptor as they stream: size as they arrive (more than promised
 * fails at once), digest at the end. A mismatch is FailedPrecondition, as containerd's content
 * commit reports it ("unexpected commit digest … failed precondition").
 */
export class Verifier {
  private readonly hash: Hash;
  private readonly algorithm: string;
  private n = 0;

  constructor(
    private readonly desc: Pick<Descriptor, 'digest' | 'size'>,
    private readonly what: string,
  ) {
    this.algorithm = parseDigest(desc.digest).algorithm;
    this.hash = createHash(this.algorithm);
  }

  get bytes(): number {
    return this.n;
  }

  update(chunk: Buffer): void {
    this.n += chunk.length;
    if (this.desc.size > 0 && this.n > this.desc.size) throw failedPrecondition(`${this.what}: more data than the descriptor's size ${this.desc.size}`);
    this.hash.update(chunk);
  }

  /** Throws unless exactly the described bytes went through. */
  finish(): void {
    if (this.desc.size > 0 && this.n !== this.desc.size)
      throw failedPrecondition(`${this.what}: size mismatch: got ${this.n} bytes, descriptor says ${this.desc.size}`);
    const got = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (got !== this.desc.digest) throw failedPrecondition(`${this.what}: digest mismatch: content is ${got}, expected ${this.desc.digest}`);
  }
}

/** Verifies a whole buffer (manifests, configs). */
export function verifyBuffer(desc: Pick<Descriptor, 'digest' | 'size'>, data: Buffer, what: string): void {
  const v = new Verifier(desc, what);
  v.update(data);
  v.finish();
}
