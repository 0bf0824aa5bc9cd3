/**
 * Volume records and their users (the engine's named and anonymous volumes, src/volumes), beside
 * the other records of a namespace:
 *
 *   volume ─ <name>                      → VolumeRecord (driver, labels, options, state)
 *   volume-user ─ <name> ─ <container>   → VolumeUse: <container> uses <name> (from its create
 *                                          to its removal, as Docker counts references), and
 *                                          whether it has the volume mounted (a mounted local
 *                                          volume is mounted on the host while one of them does)
 *
 * A user is added and a volume created in one batch, and a removal checks for users and marks
 * the volume `removing` in one batch, so a volume in use can never be removed and a volume being
 * removed never gains a user. Users are stored, so all of it holds across berthd restarts.
 */
import { z } from 'zod';
import { type Ctx, namespaceRequired } from '../core/context';
import { conflict, notFound } from '../core/errors';
import type { MetadataDB, ReadTx, WriteTx } from './db';
import { ensureNamespace } from './namespace-record';
import { keys } from './schema';

export const VolumeRecordSchema = z.object({
  name: z.string(),
  driver: z.string(),
  labels: z.record(z.string(), z.string()),
  options: z.record(z.string(), z.string()),
  createdAt: z.string(),
  /** `removing` from the moment a removal was decided until its directory is gone. */
  state: z.enum(['ready', 'removing']),
});
export type VolumeRecord = z.infer<typeof VolumeRecordSchema>;

const VolumeUseSchema = z.object({ since: z.string(), mounted: z.boolean().optional() });
type VolumeUse = z.infer<typeof VolumeUseSchema>;

export interface VolumeWithUsers {
  record: VolumeRecord;
  /** Ids of the containers using it. */
  users: string[];
  /** Those of them that have it mounted (running, for a mounted local volume). */
  mountedBy: string[];
}

/** A volume a container is to use: an existing one by name, or `create` when there is none. */
export interface VolumeClaim {
  name: string;
  create: VolumeRecord;
}

const inUse = (name: string, users: string[]) => conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);

async function usersOf(tx: ReadTx, ns: string, name: string): Promise<{ users: string[]; mountedBy: string[] }> {
  const users: string[] = [];
  const mountedBy: string[] = [];
  for await (const { key, value } of tx.list<unknown>(keys.volumeUsers(ns, name))) {
    const id = key[key.length - 1]!;
    users.push(id);
    if (VolumeUseSchema.parse(value).mounted) mountedBy.push(id);
  }
  return { users, mountedBy };
}

async function recordOf(tx: ReadTx, ns: string, name: string): Promise<VolumeRecord | undefined> {
  const v = await tx.get<unknown>(keys.volume(ns, name));
  return v === undefined ? undefined : VolumeRecordSchema.parse(v);
}

export class VolumeRecords {
  constructor(private readonly db: MetadataDB) {}

  async get(ctx: Ctx, name: string): Promise<VolumeWithUsers | undefined> {
    const ns = namespaceRequired(ctx);
    return this.db.view(async (tx) => {
      const record = await recordOf(tx, ns, name);
      return record && { record, ...(await usersOf(tx, ns, name)) };
    });
  }

  async list(ctx: Ctx): Promise<VolumeWithUsers[]> {
    const ns = namespaceRequired(ctx);
    return this.db.view(async (tx) => {
      const out: VolumeWithUsers[] = [];
      for await (const { value } of tx.list<unknown>(keys.volumes(ns))) {
        const record = VolumeRecordSchema.parse(value);
        out.push({ record, ...(await usersOf(tx, ns, record.name)) });
      }
      return out;
    });
  }

  /**
   * Stores `rec` unless a volume of that name exists; returns the stored one and whether it is
   * new. `prepare` runs first, inside the write lock, only when the volume is new (its directory).
   */
  async create(ctx: Ctx, rec: VolumeRecord, prepare: () => Promise<void>): Promise<{ record: VolumeRecord; created: boolean }> {
    const ns = namespaceRequired(ctx);
    return this.db.update(async (tx) => {
      const cur = await this.current(tx, ns, rec.name);
      if (cur) return { record: cur, created: false };
      await prepare();
      await ensureNamespace(tx, ns);
      tx.put(keys.volume(ns, rec.name), rec);
      return { record: rec, created: true };
    });
  }

  /**
   * Container `id` uses every claimed volume from now on; missing ones are created (`prepare`
   * makes each new one's directory first). All or nothing.
   */
  async use(
    ctx: Ctx,
    id: string,
    claims: readonly VolumeClaim[],
    prepare: (rec: VolumeRecord) => Promise<void>,
  ): Promise<Array<{ record: VolumeRecord; created: boolean }>> {
    const ns = namespaceRequired(ctx);
    return this.db.update(async (tx) => {
      await ensureNamespace(tx, ns);
      const out: Array<{ record: VolumeRecord; created: boolean }> = [];
      const since = new Date().toISOString();
      for (const c of claims) {
        let record = await this.current(tx, ns, c.name);
        const created = !record && !out.some((o) => o.record.name === c.name);
        if (created) {
          await prepare(c.create);
          tx.put(keys.volume(ns, c.name), c.create);
          record = c.create;
        }
        if (!(await tx.has(keys.volumeUser(ns, c.name, id)))) tx.put(keys.volumeUser(ns, c.name, id), { since } satisfies VolumeUse);
        out.push({ record: record ?? out.find((o) => o.record.name === c.name)!.record, created });
      }
      return out;
    });
  }

  /** Container `id` no longer uses any volume; returns the names it used. */
  async release(ctx: Ctx, id: string): Promise<string[]> {
    const ns = namespaceRequired(ctx);
    return this.db.update(async (tx) => {
      const names: string[] = [];
      for await (const { key } of tx.list(keys.volumeUsersAll(ns))) {
        if (key[key.length - 1] !== id) continue;
        const name = key[key.length - 2]!;
        tx.del(keys.volumeUser(ns, name, id));
        names.push(name);
      }
      return names;
    });
  }

  /**
   * Decides a removal: Conflict while the volume has users, NotFound if there is none; else marks
   * it `removing` and returns it (finishRemove drops the record once its directory is gone).
   * `when` may veto (prune's filters), returning false: the volume is then left alone.
   */
  async beginRemove(ctx: Ctx, name: string, when: (v: VolumeRecord) => boolean = () => true): Promise<VolumeRecord | undefined> {
    const ns = namespaceRequired(ctx);
    return this.db.update(async (tx) => {
      const cur = await recordOf(tx, ns, name);
      if (!cur) throw notFound(`get ${name}: no such volume`);
      if (cur.state === 'removing') return cur; // a removal interrupted, or racing: finish it
      const { users } = await usersOf(tx, ns, name);
      if (users.length) throw inUse(name, users);
      if (!when(cur)) return undefined;
      const next: VolumeRecord = { ...cur, state: 'removing' };
      tx.put(keys.volume(ns, name), next);
      return next;
    });
  }

  /**
   * Records whether user `id` has the volume mounted; returns the users that have it mounted
   * afterwards. NotFound if `id` does not use it.
   */
  async setMounted(ctx: Ctx, name: string, id: string, mounted: boolean): Promise<string[]> {
    const ns = namespaceRequired(ctx);
    return this.db.update(async (tx) => {
      const cur = await tx.get<unknown>(keys.volumeUser(ns, name, id));
      if (cur === undefined) throw notFound(`volume ${name}: container ${id} does not use it`);
      const use = VolumeUseSchema.parse(cur);
      const next: VolumeUse = { since: use.since, ...(mounted ? { mounted } : {}) };
      tx.put(keys.volumeUser(ns, name, id), next);
      const others = (await usersOf(tx, ns, name)).mountedBy.filter((u) => u !== id);
      return mounted ? [...others, id] : others;
    });
  }

  async finishRemove(ctx: Ctx, name: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    await this.db.update(async (tx) => {
      tx.del(keys.volume(ns, name));
      await tx.delPrefix(keys.volumeUsers(ns, name));
    });
  }

  /** Every volume in every namespace (start-up: interrupted removals, orphan directories). */
  async all(): Promise<Array<{ ns: string; record: VolumeRecord; mountedBy: string[] }>> {
    return this.db.view(async (tx) => {
      const out: Array<{ ns: string; record: VolumeRecord; mountedBy: string[] }> = [];
      for await (const { key, value } of tx.list<unknown>(['v1'])) {
        if (key.length !== 4 || key[2] !== 'volume') continue;
        const record = VolumeRecordSchema.parse(value);
        out.push({ ns: key[1]!, record, mountedBy: (await usersOf(tx, key[1]!, record.name)).mountedBy });
      }
      return out;
    });
  }

  /** The stored record; a volume being removed cannot be used or re-created until it is gone. */
  private async current(tx: WriteTx, ns: string, name: string): Promise<VolumeRecord | undefined> {
    const cur = await recordOf(tx, ns, name);
    if (cur?.state === 'removing') throw conflict(`volume ${name} is being removed`);
    return cur;
  }
}
