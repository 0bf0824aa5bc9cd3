/**
 * Node/V8 flags berthd runs with. They must be on node's command line (V8 sizes its heap before
 * any script runs; v8.setFlagsFromString is too late), so every launcher passes them: bin.ts's
 * shebang (keep the two in step), scripts/demo.sh, the test and bench launchers. The build makes
 * the bundle's code cache under these flags (V8 refuses a cache made under others).
 *
 * --initial-old-space-size=64: no full GC while the old generation (which counts ArrayBuffer
 * backing stores, i.e. every 64 KiB socket read) is below 64 MiB. Without it, once berthd has
 * idled a few seconds V8 sizes its limit from the ~12 MiB live heap and a 1 GiB ingest ran ~75
 * mark-compacts (every ~14 MiB received): +1.3 CPU-s and ~25 % less throughput through ctr. Its
 * cost is memory under churn: garbage piles up to 64 MiB before a collection (~140 MiB RSS after
 * 1,000 `ctr run --rm`); idle-gc.ts collects once a burst of work is over (needs --expose-gc).
 * Measured, 512 MiB ctr ingests into a daemon idle 12 s first, 3 rounds: with the flag 0 full
 * GCs and 1.04–1.29 CPU-s; without it (1 or 2 MiB semi-spaces) 1–43 full GCs and 1.10–1.92 CPU-s.
 *
 * --max-semi-space-size=2: under churn V8 grew the young generation to 2 × 16 MiB, all of it
 * resident; 2 MiB semi-spaces cut ~12 MiB off the churn peak and changed nothing in the ingest
 * (0–2 full GCs, 1.05–1.21 CPU-s in the same runs).
 *
 * --expose-gc --compact-on-every-full-gc: for idle-gc.ts (a full GC that compacts, so the pages
 * it empties go back to the OS). V8's own full GCs compact too; with the flag above they are rare.
 *
 * --interrupt-budget=270336, 4 × V8's (V8_INTERRUPT_BUDGET): how much bytecode a function runs
 * before V8 has TurboFan optimize it. At V8's budget start-up's ~100 path.join calls made node's
 * normalizeString hot, and compiling that one function paged in ~3.5 MiB of TurboFan's code
 * (node's binary) that an idle daemon then kept resident. With twice the budget start-up already
 * optimized nothing; four leaves room for start-up to grow. Once berthd serves, jit-budget.ts
 * sets V8's own budget back, so the work that follows tiers up exactly as before.
 */
export const BERTHD_NODE_FLAGS = [
  '--initial-old-space-size=64',
  '--max-semi-space-size=2',
  '--expose-gc',
  '--compact-on-every-full-gc',
  '--interrupt-budget=270336',
];

/** V8's default --interrupt-budget in Node 20 (`node --v8-options`; test/daemon/jit-budget.test.ts checks it). */
export const V8_INTERRUPT_BUDGET = 67584;

/**
 * Environment berthd runs with, set by the same launchers (bin.ts's shebang through `env -S`).
 *
 * MALLOC_ARENA_MAX=2: glibc gives every thread that allocates (libuv's pool, LevelDB's compaction
 * thread) an arena of its own, up to 8 per core, and keeps what is freed in each for reuse by
 * that arena only. Under churn that is a few MiB of freed memory berthd never gives back: after
 * 400 `ctr run --rm` cycles, 77.4 / 78.8 MiB RSS at 1 s idle against 81.7 / 81.2 without it.
 * berthd's allocations are mostly on its main thread, so two arenas cost no contention that shows.
 */
export const BERTHD_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
