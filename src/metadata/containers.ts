import type { Ctx } from '../core/context';
import { alreadyExists, invalidArgument, notFound } from '../core/errors';
import { adapt, parseFilters } from '../core/filters';
import { validateId } from '../core/identifiers';
import type { Container } from '../containers/types';
import type { MetadataDB } from './db';
import { ensureNamespace } from './namespace-record';
import { keys } from './schema';

type Record_ = Omit<Container, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

const toRecord = (c: Container): Record_ => ({ ...c, createdAt: c.createdAt.toISOString(), updatedAt: c.updatedAt.toISOString() });
const fromRecord = (r: Record_): Container => ({ ...r, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) });

/** Update field paths containerd accepts (runtime and snapshotter are immutable). */
const UPDATABLE = ['labels', 'image', 'spec', 'snapshotkey', 'extensions'] as const;

function validate(c: Container): void {
  validateId('container', c.id);
  for (const k of Object.keys(c.extensions)) if (!k) throw invalidArgument(`container ${c.id}: extension keys must not be empty`);
  if (!c.runtime.name) throw invalidArgument(`container ${c.id}: must set runtime name`);
  if (!c.spec) throw invalidArgument(`container ${c.id}: spec must be set`);
  if (c.snapshotKey && !c.snapshotter) throw invalidArgument(`container ${c.id}: snapshotter must be set if snapshot key is set`);
}

export class ContainerStore {
  constructor(private readonly db: MetadataDB) {}

  async get(ctx: Ctx, id: string): Promise<Container> {
    validateId('container', id);
    const r = await this.db.view((tx) => tx.get<Record_>(keys.container(ctx.ns, id)));
    if (!r) throw notFound(`container "${id}" in namespace "${ctx.ns}": not found`);
    return fromRecord(r);
  }

  async list(ctx: Ctx, filters?: readonly string[]): Promise<Container[]> {
    const match = parseFilters(filters);
    const out: Container[] = [];
    await this.db.view(async (tx) => {
      for await (const { value } of tx.list<Record_>(keys.containers(ctx.ns))) {
        const c = fromRecord(value);
        const a = adapt({ id: c.id, image: c.image, runtime: c.runtime.name, snapshotter: c.snapshotter, snapshotkey: c.snapshotKey }, c.labels);
        const withRuntimeName = (p: string[]) => (p.length === 2 && p[0] === 'runtime' && p[1] === 'name' ? c.runtime.name : a(p));
        if (match(withRuntimeName)) out.push(c);
      }
    });
    return out;
  }

  async create(ctx: Ctx, c: Omit<Container, 'createdAt' | 'updatedAt'>): Promise<Container> {
    const now = new Date();
    const full: Container = { ...c, createdAt: now, updatedAt: now };
    validate(full);
    return this.db.update(async (tx) => {
      if (await tx.has(keys.container(ctx.ns, c.id))) throw alreadyExists(`container "${c.id}": already exists`);
      await ensureNamespace(tx, ctx.ns);
      tx.put(keys.container(ctx.ns, c.id), toRecord(full));
      return full;
    });
  }

  /**
   * Updates with containerd's semantics: no field paths = replace labels, image, spec,
   * snapshot key and extensions; runtime and snapshotter can never change.
   */
  async update(ctx: Ctx, c: Omit<Container, 'createdAt' | 'updatedAt'>, fieldpaths: readonly string[] = []): Promise<Container> {
    validateId('container', c.id);
    return this.db.update(async (tx) => {
      const r = await tx.get<Record_>(keys.container(ctx.ns, c.id));
      if (!r) throw notFound(`container "${c.id}": not found`);
      const cur = fromRecord(r);
      const next: Container = { ...cur, labels: { ...cur.labels }, extensions: { ...cur.extensions } };
      if (fieldpaths.length === 0) {
        if (c.runtime.name && c.runtime.name !== cur.runtime.name) throw invalidArgument(`container "${c.id}": runtime field is immutable`);
        if (c.snapshotter && c.snapshotter !== cur.snapshotter) throw invalidArgument(`container "${c.id}": snapshotter field is immutable`);
        Object.assign(next, { labels: c.labels, image: c.image, spec: c.spec ?? cur.spec, snapshotKey: c.snapshotKey, extensions: c.extensions });
      }
      for (const p of fieldpaths) {
        if (p.startsWith('labels.')) {
          const k = p.slice(7);
          if (c.labels[k]) next.labels[k] = c.labels[k]!;
          else delete next.labels[k];
        } else if (p.startsWith('extensions.')) {
          const k = p.slice(11);
          if (c.extensions[k]) next.extensions[k] = c.extensions[k]!;
          else delete next.extensions[k];
        } else if (p === 'labels') next.labels = { ...c.labels };
        else if (p === 'extensions') next.extensions = { ...c.extensions };
        else if (p === 'image') next.image = c.image;
        else if (p === 'spec') next.spec = c.spec;
        else if (p === 'snapshotkey') next.snapshotKey = c.snapshotKey;
        else
          throw invalidArgument(
            `container "${c.id}": cannot update ${JSON.stringify(p)} field (updatable: ${UPDATABLE.join(', ')}, labels.<key>, extensions.<key>)`,
          );
      }
      next.updatedAt = new Date();
      validate(next);
      tx.put(keys.container(ctx.ns, c.id), toRecord(next));
      return next;
    });
  }

  async delete(ctx: Ctx, id: string): Promise<void> {
    validateId('container', id);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.container(ctx.ns, id)))) throw notFound(`container "${id}": not found`);
      tx.del(keys.container(ctx.ns, id));
    });
  }
}
