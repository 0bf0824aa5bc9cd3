import { join } from 'node:path';
import { MetadataDB } from '../metadata/db';
import { type Base, emptyWired, type Wired, wireSlices } from './compose';
import type { Slice } from './slice';
import { mark } from './startup-trace';
import { SLICES } from './slices';

export interface OpenParts {
  wired: Wired;
  /** Releases what wiring opened (closers in reverse order, then the metadata DB). */
  close(): Promise<void>;
}

/**
 * The heavy half of start-up: the metadata DB, then every slice in dependency order. main.ts
 * loads this file only once its socket is bound (in berthd's bundle the modules below it, LevelDB's
 * native addon and most of Node's built-ins among them, initialize then), so the first call is
 * answered while they open. On failure, what was opened is released before it throws.
 */
export async function openParts(base: Omit<Base, 'db'>, slices: readonly Slice[] = SLICES): Promise<OpenParts> {
  const db = await MetadataDB.open(join(base.config.root, 'meta'));
  mark('metadata-db');
  const wired = emptyWired();
  const close = async () => {
    for (const fn of [...wired.closers, () => db.close()]) {
      try {
        await fn();
      } catch (e) {
        base.log.warn('close failed', { err: e });
      }
    }
  };
  try {
    await wireSlices({ ...base, db }, slices, wired);
  } catch (e) {
    await close();
    throw e;
  }
  return { wired, close };
}
