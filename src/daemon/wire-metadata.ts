import type { Wiring } from './wiring';

/** Wires the metadata slice into the daemon. Nothing here yet: its services answer UNIMPLEMENTED. */
export async function wireMetadata(_w: Wiring): Promise<void> {}
