import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalContentStore } from '../../src/content/local-store';
import { NamespacedContentStore } from '../../src/metadata/content';
import { MetadataDB } from '../../src/metadata/db';

export interface NamespacedStoreFixture {
  dir: string;
  db: MetadataDB;
  store: NamespacedContentStore;
  close(): Promise<void>;
}

/** A NamespacedContentStore over a fresh MetadataDB and LocalContentStore in a temp dir. */
export async function openNamespacedStore(prefix: string): Promise<NamespacedStoreFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const db = await MetadataDB.open(join(dir, 'meta'));
  const store = new NamespacedContentStore(db, await LocalContentStore.open(join(dir, 'content')));
  return {
    dir,
    db,
    store,
    close: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
