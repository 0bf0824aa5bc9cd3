import type { Wiring } from './wiring';

/** Wires the content slice into the daemon. Nothing here yet: its services answer UNIMPLEMENTED. */
export async function wireContent(_w: Wiring): Promise<void> {}
