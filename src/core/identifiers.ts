import { invalidArgument } from './errors';

/**
 * containerd's identifier rule (pkg/identifiers): alphanumerics joined by `.`, `_` or `-`,
 * at most 76 characters. Ids become path components and DB keys, so this is a security check.
 */
const MAX_LENGTH = 76;
const ID_RE = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;

export function validateId(kind: string, id: string): string {
  if (!id) throw invalidArgument(`${kind}: identifier must not be empty`);
  if (id.length > MAX_LENGTH) throw invalidArgument(`${kind} ${JSON.stringify(id.slice(0, 80))}: identifier longer than ${MAX_LENGTH} characters`);
  if (!ID_RE.test(id)) throw invalidArgument(`${kind} ${JSON.stringify(id)}: identifier must match ${ID_RE.source}`);
  return id;
}

export function isValidId(id: string): boolean {
  return !!id && id.length <= MAX_LENGTH && ID_RE.test(id);
}

/**
 * Lease ids are not identifiers in containerd (its lease manager only requires non-empty):
 * ctr generates `<nanos>-<4 chars base64url>`, e.g. `511965754-ZLU_`, which the identifier rule
 * rejects (a trailing `_`, or `-_`). Accept alphanumerics and `._-` in any order, at most 76 chars:
 * still a safe key segment and path component.
 */
const LEASE_ID_RE = /^[A-Za-z0-9._-]{1,76}$/;

export function validateLeaseId(id: string): string {
  if (!id) throw invalidArgument('lease: id must not be empty');
  if (!LEASE_ID_RE.test(id)) throw invalidArgument(`lease ${JSON.stringify(id.slice(0, 80))}: id must match ${LEASE_ID_RE.source}`);
  return id;
}
