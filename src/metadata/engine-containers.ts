/**
 * The engine's container records (berth's Docker-like engine, src/engine), beside containerd's
 * container records in the same namespace: `engine-container/<id>` holds the record (JSON the
 * engine validates), `engine-name/<name>` the id it names. A name is taken and released in the
 * same batch as its record, so two creates (or a create and a rename) can never share a name.
 */
import type { Ctx } from '../core/context';
import { conflict, notFound } from '../core/errors';
import type { MetadataDB } from './db';
import { ensureNamespace } from './namespace-record';
import { keys } from './schema';

/** What the store needs of a record; the rest is the engine's. */
export interface NamedRecord {
  id: string;
  name: string;
}

/** How a record becomes the stored JSON text and back (the engine validates what it reads). */
export interface RecordCodec<T> {
  encode(rec: T): string;
  /** Throws when the text is not a valid record. */
  decode(json: string): T;
}

const nameInUse = (name: string, id: string) =>
  conflict(`the container name "/${name}" is already in use by container "${id}": remove (or rename) that container to be able to reuse that name`);

export class EngineContainerStore<T extends NamedRecord> {
  constructor(
    private readonly db: MetadataDB,
    private readonly codec: RecordCodec<T>,
  ) {}

  async get(ctx: Ctx, id: string): Promise<T | undefined> {
    return this.db.view((tx) => tx.get(keys.engineContainer(ctx.ns, id), this.codec.decode));
  }

  /** The id a name belongs to (without the leading slash). */
  async idOfName(ctx: Ctx, name: string): Promise<string | undefined> {
    return this.db.view((tx) => tx.get<string>(keys.engineName(ctx.ns, name)));
  }

  async list(ctx: Ctx): Promise<T[]> {
    return this.db.view(async (tx) => {
      const out: T[] = [];
      for await (const { value } of tx.list(keys.engineContainers(ctx.ns), this.codec.decode)) out.push(value);
      return out;
    });
  }

  /** Conflict when the name (or, a bug, the id) is taken. */
  async create(ctx: Ctx, rec: T): Promise<void> {
    await this.db.update(async (tx) => {
      const holder = await tx.get<string>(keys.engineName(ctx.ns, rec.name));
      if (holder !== undefined) throw nameInUse(rec.name, holder);
      if (await tx.has(keys.engineContainer(ctx.ns, rec.id))) throw conflict(`container ${rec.id}: already exists`);
      await ensureNamespace(tx, ctx.ns);
      tx.putJson(keys.engineContainer(ctx.ns, rec.id), this.codec.encode(rec));
      tx.put(keys.engineName(ctx.ns, rec.name), rec.id);
    });
  }

  /**
   * Read-modify-write of one record under the DB's write lock; `fn` may change the name (the
   * index follows, Conflict if the new one is taken), and may do so by changing `cur` itself (a
   * copy decoded for this call). Returns the stored record.
   */
  async update(ctx: Ctx, id: string, fn: (cur: T) => T): Promise<T> {
    return this.db.update(async (tx) => {
      const cur = await tx.get(keys.engineContainer(ctx.ns, id), this.codec.decode);
      if (!cur) throw notFound(`no such container: ${id}`);
      const name = cur.name;
      const next = fn(cur);
      if (next.name !== name) {
        const holder = await tx.get<string>(keys.engineName(ctx.ns, next.name));
        if (holder !== undefined) throw nameInUse(next.name, holder);
        tx.del(keys.engineName(ctx.ns, name));
        tx.put(keys.engineName(ctx.ns, next.name), id);
      }
      tx.putJson(keys.engineContainer(ctx.ns, id), this.codec.encode(next));
      return next;
    });
  }

  /** Removes the record and releases its name; absent is fine. */
  async delete(ctx: Ctx, id: string): Promise<void> {
    await this.db.update(async (tx) => {
      // Only its name is needed: a record that no longer decodes can still be removed.
      const cur = await tx.get<NamedRecord>(keys.engineContainer(ctx.ns, id));
      if (!cur) return;
      tx.del(keys.engineContainer(ctx.ns, id));
      if ((await tx.get<string>(keys.engineName(ctx.ns, cur.name))) === id) tx.del(keys.engineName(ctx.ns, cur.name));
    });
  }
}
