import { itWith, requireRoot } from '../helpers/requires';

/** `it` for tests that need root (namespaces, mounts, cgroups): skipped locally without it, failed in CI. */
export const itRoot = itWith(requireRoot());
