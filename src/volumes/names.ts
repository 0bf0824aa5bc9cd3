/**
 * Docker's volume names (the local driver's rule) and anonymous volumes: a name is also a
 * directory under the volumes root and a metadata key, so this is a security check too.
 */
import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../core/errors';

/** Docker (>= 23) marks anonymous volumes so that `volume prune` removes only them by default. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** A directory name: longer ones cannot exist on Linux filesystems. */
const MAX_NAME = 255;

export function validateVolumeName(name: string): string {
  if (name.length === 1) throw invalidArgument('volume name is too short, names should be at least two alphanumeric characters');
  if (!NAME_RE.test(name))
    throw invalidArgument(
      `${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  if (name.length > MAX_NAME) throw invalidArgument(`volume name ${JSON.stringify(name.slice(0, 40))}…: longer than ${MAX_NAME} characters`);
  return name;
}

/** An anonymous volume's name: 64 hex digits, as Docker's stringid.GenerateRandomID. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}
