import type { Wiring } from './wiring';

/** Wires the diff slice into the daemon. Nothing here yet: its services answer UNIMPLEMENTED. */
export async function wireDiff(_w: Wiring): Promise<void> {}
