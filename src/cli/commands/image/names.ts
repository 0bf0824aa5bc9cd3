/** Image names as the CLI takes and shows them: Docker's familiar form out, full references in. */
import { familiarName, formatReference, parseReference } from '../../../core/reference';
import { CliError } from '../../command';

/** `busybox` → `docker.io/library/busybox:latest`; a bad name is one clear line (exit 125 at the caller). */
export function fullName(ref: string): string {
  try {
    return formatReference(parseReference(ref));
  } catch (e) {
    throw new CliError((e as Error).message, 125);
  }
}

/** `docker.io/library/busybox:latest` → `busybox:latest`. */
export function shortName(full: string): string {
  try {
    return familiarName(parseReference(full, { defaultTag: false }));
  } catch {
    return full;
  }
}

/** `busybox:1` → { repository: 'busybox', tag: '1' }; `x@sha256:…` → tag '<none>'. */
export function splitName(familiar: string): { repository: string; tag: string } {
  const at = familiar.indexOf('@');
  const name = at >= 0 ? familiar.slice(0, at) : familiar;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? { repository: name.slice(0, colon), tag: name.slice(colon + 1) } : { repository: name, tag: '<none>' };
}

/** The registry host of a reference (`docker.io`, `127.0.0.1:5000`). */
export function registryHost(ref: string): string {
  return parseReference(ref).domain;
}
