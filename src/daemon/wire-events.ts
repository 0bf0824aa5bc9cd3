import type { Wiring } from './wiring';

/** Wires the events slice into the daemon. Nothing here yet: its services answer UNIMPLEMENTED. */
export async function wireEvents(_w: Wiring): Promise<void> {}
