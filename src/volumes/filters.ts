/** Docker's volume filters (`volume ls --filter`, `volume prune --filter`), checked and matched. */
import { invalidArgument } from '../core/errors';
import type { Labels } from '../core/types';

/** `label=k` (present) or `label=k=v` (equal). */
export function labelMatches(labels: Labels, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, spec);
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

export function checkFilters(filters: Record<string, string[]>, allowed: readonly string[]): void {
  for (const k of Object.keys(filters)) if (!allowed.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
}

/** A boolean filter (`dangling=true`, `all=1`) as Docker reads it; both values at once constrain nothing. */
export function boolFilter(name: string, values: readonly string[] | undefined): boolean | undefined {
  let out: boolean | undefined;
  for (const v of values ?? []) {
    const l = v.toLowerCase();
    const b = l === 'true' || l === '1' ? true : l === 'false' || l === '0' ? false : undefined;
    if (b === undefined) throw invalidArgument(`invalid filter '${name}=${v}'`);
    if (out !== undefined && out !== b) return undefined;
    out = b;
  }
  return out;
}

/** `name=` is a regular expression matched anywhere in the name, as Docker's filters.Args.Match. */
export function nameMatches(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    try {
      return new RegExp(p).test(name);
    } catch {
      return name.includes(p);
    }
  });
}
