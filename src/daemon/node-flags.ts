/**
 * Node/V8 flags berthd runs with. They must be on node's command line (V8 sizes its heap before
 * any script runs; v8.setFlagsFromString is too late), so every launcher passes them: bin.ts's
 * shebang (keep the two in step), scripts/demo.sh, the test and bench launchers.
 *
 * --initial-old-space-size=64: no full GC while the old generation (which counts ArrayBuffer
 * backing stores, i.e. every 64 KiB socket read) is below 64 MiB. Without it, once berthd has
 * idled a few seconds V8 sizes its limit from the ~12 MiB live heap and a 1 GiB ingest ran ~75
 * mark-compacts (every ~14 MiB received): +1.3 CPU-s and ~25 % less throughput through ctr.
 */
export const BERTHD_NODE_FLAGS = ['--initial-old-space-size=64'];
