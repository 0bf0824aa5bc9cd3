import type { Wiring } from './wiring';

/** Wires the snapshots slice into the daemon. Nothing here yet: its services answer UNIMPLEMENTED. */
export async function wireSnapshots(_w: Wiring): Promise<void> {}
