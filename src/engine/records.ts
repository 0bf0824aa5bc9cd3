/** Typed access to the engine's records, and Docker's container lookup: id, name, or id prefix. */
import { join } from 'node:path';
import type { Ctx } from '../core/context';
import { invalidArgument, notFound } from '../core/errors';
import { validateId } from '../core/identifiers';
import type { MetadataDB } from '../metadata/db';
import { EngineContainerStore } from '../metadata/engine-containers';
import { isFullId } from './names';
import { RecordJson, type EngineRecord } from './record';

export class Records {
  private readonly json = new RecordJson();
  private readonly store: EngineContainerStore<EngineRecord>;

  constructor(
    db: MetadataDB,
    /** `<root>/engine`: each container's files in `<ns>/<id>/`. */
    readonly root: string,
  ) {
    this.store = new EngineContainerStore(db, this.json);
  }

  /** Both are path components: the namespace is checked here (the id is the engine's own hex). */
  dir(ns: string, id: string): string {
    return join(this.root, validateId('namespace', ns), id);
  }

  logPath(ns: string, id: string): string {
    return join(this.dir(ns, id), `${id}-json.log`);
  }

  get(ctx: Ctx, id: string): Promise<EngineRecord | undefined> {
    return this.store.get(ctx, id);
  }

  list(ctx: Ctx): Promise<EngineRecord[]> {
    return this.store.list(ctx);
  }

  create(ctx: Ctx, r: EngineRecord): Promise<void> {
    return this.store.create(ctx, r);
  }

  /** `fn` gets a copy of its own, which it may change in place (and return nothing). */
  update(ctx: Ctx, id: string, fn: (r: EngineRecord) => EngineRecord | void): Promise<EngineRecord> {
    return this.store.update(ctx, id, (cur) => fn(cur) ?? cur);
  }

  async delete(ctx: Ctx, id: string): Promise<void> {
    await this.store.delete(ctx, id);
    this.json.forget(ctx.ns, id);
  }

  /**
   * Docker's lookup order: full id, exact name, then a unique id prefix. NotFound:
   * `No such container: ref`; a prefix of several ids is InvalidArgument.
   */
  async resolve(ctx: Ctx, ref: string): Promise<EngineRecord> {
    if (!ref) throw invalidArgument('container name or id is required');
    if (ref.includes('\0')) throw notFound(`No such container: ${JSON.stringify(ref.slice(0, 80))}`);
    if (isFullId(ref)) {
      const r = await this.get(ctx, ref);
      if (r && r.phase !== 'creating') return r;
    }
    const byName = await this.store.idOfName(ctx, ref.startsWith('/') ? ref.slice(1) : ref);
    if (byName) {
      const r = await this.get(ctx, byName);
      if (r && r.phase !== 'creating') return r;
    }
    if (/^[0-9a-f]+$/.test(ref)) {
      const hits = (await this.list(ctx)).filter((r) => r.id.startsWith(ref) && r.phase !== 'creating');
      if (hits.length > 1) throw invalidArgument(`multiple containers found with provided prefix: ${ref}`);
      if (hits[0]) return hits[0];
    }
    throw notFound(`No such container: ${ref}`);
  }
}
