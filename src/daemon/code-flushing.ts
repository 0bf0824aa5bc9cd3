/**
 * Once berthd serves, each full GC that V8 starts itself drops the bytecode (and Sparkplug's
 * baseline code) of the functions that have not run since the previous one. V8's default waits
 * for 5 and keeps baseline code; an idle berthd sees V8's memory reducer's 2 (idle-gc.ts's gc()
 * is a forced GC, which keeps all code), so the code start-up ran once (the slices' wiring, the
 * stores' opening) stayed as long as the daemon idled. A function that runs again is compiled
 * again from its source, as the first time; code in use runs between full GCs (rare under load:
 * node-flags.ts) and keeps its own. Measured on a fresh berthd settled 10 s: old space 9.3 → 7.8
 * MiB used, RSS 52.7 → 51.1 MiB.
 *
 * V8 reads both flags at each GC, so they are set here, not on node's command line: that is full
 * (a #! line holds 255 bytes, node-flags.ts), and the code cache is checked against the flags
 * when the bundle compiles, before this runs.
 */
import { setFlagsFromString } from 'node:v8';

export function flushCodeUnusedSinceLastGc(): void {
  setFlagsFromString('--bytecode-old-age=1');
  setFlagsFromString('--flush-baseline-code');
}
