/**
 * Finds workloads: every module `bench/<name>.workload.ts` (compiled next to run.js) may export
 * Workload objects, or arrays of them, under any names. Only `*.workload.js` files are loaded:
 * other files in bench/ (e.g. ingest.ts) are standalone scripts that run when required.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Workload } from './workload';

export function isWorkload(v: unknown): v is Workload {
  const w = v as Workload;
  return !!w && typeof w === 'object' && typeof w.name === 'string' && typeof w.sample === 'function' && typeof w.unit === 'string';
}

export function discoverWorkloads(benchDir: string, log: (m: string) => void): Workload[] {
  const found: Workload[] = [];
  for (const f of readdirSync(benchDir).sort()) {
    if (!f.endsWith('.workload.js')) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(join(benchDir, f)) as Record<string, unknown>;
      for (const v of Object.values(mod)) {
        if (isWorkload(v)) found.push(v);
        else if (Array.isArray(v)) found.push(...v.filter(isWorkload));
      }
    } catch (e) {
      log(`warning: bench/${f} failed to load: ${(e as Error).message}`);
    }
  }
  return found;
}
