import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDigest } from '../core/digest';
import { invalidArgument } from '../core/errors';

/**
 * On-disk layout of the local content store (containerd's plugins/content/local):
 *   <root>/blobs/<alg>/<hex>                    committed blobs, read-only (0444)
 *   <root>/ingest/<sha256(ref)>/{ref,data,startedat,updatedat,total,expected}
 * The ingest directory is named by a hash of the ref: fixed length and always path-safe,
 * whatever the ref contains (`../../x` never becomes a path).
 */
export const MAX_REF_LENGTH = 256;

export function blobsDir(root: string, algorithm = 'sha256'): string {
  return join(root, 'blobs', algorithm);
}

export function blobPath(root: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(root, 'blobs', algorithm, hex);
}

export function ingestRoot(root: string): string {
  return join(root, 'ingest');
}

export function ingestDir(root: string, ref: string): string {
  return join(root, 'ingest', createHash('sha256').update(ref).digest('hex'));
}

/** Refs are free-form (they are hashed), but bounded: non-empty, no NUL, at most `max` chars. */
export function validateRef(ref: string, max = MAX_REF_LENGTH): string {
  if (typeof ref !== 'string' || ref === '') throw invalidArgument('ref: must not be empty');
  if (ref.includes('\0')) throw invalidArgument(`ref ${JSON.stringify(ref.slice(0, 80))}: must not contain NUL`);
  if (ref.length > max) throw invalidArgument(`ref ${JSON.stringify(ref.slice(0, 80))}…: longer than ${max} characters`);
  return ref;
}
