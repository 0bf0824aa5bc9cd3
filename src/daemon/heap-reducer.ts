/**
 * V8's memory-reducing collection, through native/build/berth-heap.node (native/heap/heap.cc):
 * what V8's memory reducer does on its own ~8 s after work stops (young generation shrunk to its
 * initial size, freed pages unmapped, bytecode that ran once flushed), on berthd's schedule
 * instead. Node 20 has no call for it: its gc() is a full collection that does none of that.
 * Measured on a fresh berthd, 1 s after its first answers: 56.6 → 52.6 MiB RSS.
 *
 * The addon fits only the node it was built with (`make -C native` against that node's headers);
 * when it is missing or does not load (another node's ABI), this is undefined and idle-gc.ts
 * collects with gc() alone.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type ReduceMemory = () => void;

/** BERTH_HEAP_ADDON, else native/build/berth-heap.node found upwards from this file (src/ or dist/). */
export function heapAddonPath(): string | undefined {
  if (process.env.BERTH_HEAP_ADDON !== undefined) return process.env.BERTH_HEAP_ADDON || undefined;
  for (let d = __dirname; ; d = dirname(d)) {
    const p = join(d, 'native', 'build', 'berth-heap.node');
    if (existsSync(p)) return p;
    if (dirname(d) === d) return undefined;
  }
}

/** The addon's reduceMemory, or undefined (with why) when it is not there or does not load. */
export function loadReduceMemory(path = heapAddonPath()): { reduce?: ReduceMemory; why?: string } {
  if (!path) return { why: 'native/build/berth-heap.node is not built' };
  const mod = { exports: {} as { reduceMemory?: unknown } };
  try {
    process.dlopen(mod, path);
  } catch (e) {
    return { why: `${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const fn = mod.exports.reduceMemory;
  if (typeof fn !== 'function') return { why: `${path} has no reduceMemory()` };
  return { reduce: () => void fn() };
}
