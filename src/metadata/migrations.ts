import type { WriteTx } from './db';

/**
 * Ordered schema upgrades: `MIGRATIONS[i]` moves a DB from version i to i+1.
 * Version 0 is a fresh DB (nothing to move), so the list starts empty.
 */
type Migration = (tx: WriteTx) => Promise<void>;
const MIGRATIONS: Migration[] = [async () => undefined];

export async function runMigrations(tx: WriteTx, from: number): Promise<void> {
  for (let v = from; v < MIGRATIONS.length; v++) await MIGRATIONS[v]!(tx);
}
