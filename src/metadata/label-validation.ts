/** Parses an RFC3339 time; undefined when absent or malformed (containerd ignores bad values). */
export function parseTime(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
