/** `it` for tests that need root (namespaces, mounts, cgroups), skipped otherwise. */
export const itRoot = process.getuid?.() === 0 ? it : it.skip;
