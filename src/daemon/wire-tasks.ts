import type { Wiring } from './wiring';

/** Wires the tasks slice into the daemon. Nothing here yet: its services answer UNIMPLEMENTED. */
export async function wireTasks(_w: Wiring): Promise<void> {}
