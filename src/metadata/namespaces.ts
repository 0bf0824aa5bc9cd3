import { z } from 'zod';
import type { Ctx } from '../core/context';
import { alreadyExists, failedPrecondition, notFound } from '../core/errors';
import { adapt, parseFilters } from '../core/filters';
import { validateId } from '../core/identifiers';
import type { Labels } from '../core/types';
import type { MetadataDB, ReadTx } from './db';
import { updateLabels, validateLabels } from '../core/labels';
import type { NamespaceRecord } from './namespace-record';
import { keys } from './schema';

/** containerd's namespaces.Store entry. */
export interface Namespace {
  name: string;
  labels: Labels;
}

export interface NamespaceStore {
  get(ctx: Ctx, name: string): Promise<Namespace>;
  list(ctx: Ctx, filter?: string): Promise<Namespace[]>;
  /** AlreadyExists if it exists (also when it came into being implicitly). */
  create(ctx: Ctx, ns: Namespace): Promise<Namespace>;
  /** Field paths `labels` / `labels.<key>`; none = replace the labels. NotFound if absent. */
  update(ctx: Ctx, ns: Namespace, fieldpaths?: readonly string[]): Promise<Namespace>;
  /** FailedPrecondition while the namespace still holds anything. */
  delete(ctx: Ctx, name: string): Promise<void>;
}

const RecordSchema = z.object({ labels: z.record(z.string(), z.string()).default({}) });

/** What a namespace must not hold to be deleted, as [sub-tree, name in the message]. */
const CONTENTS: Array<[string, string]> = [
  ['image', 'images'],
  ['blob', 'blobs'],
  ['container', 'containers'],
  ['lease', 'leases'],
  ['snapshot', 'snapshots'],
  ['ingest', 'ingests'],
  ['engine-container', 'engine containers'],
  ['volume', 'volumes'],
];

async function isEmptyUnder(tx: ReadTx, prefix: readonly string[]): Promise<boolean> {
  for await (const _ of tx.list(prefix)) return false;
  return true;
}

export class LevelNamespaceStore implements NamespaceStore {
  constructor(private readonly db: MetadataDB) {}

  async get(_ctx: Ctx, name: string): Promise<Namespace> {
    validateId('namespace', name);
    const rec = await this.db.view((tx) => tx.get<NamespaceRecord>(keys.namespace(name)));
    if (!rec) throw notFound(`namespace ${name}: not found`);
    return { name, labels: RecordSchema.parse(rec).labels };
  }

  async list(_ctx: Ctx, filter?: string): Promise<Namespace[]> {
    const match = parseFilters(filter ? [filter] : []);
    const out: Namespace[] = [];
    await this.db.view(async (tx) => {
      // Namespace records are `v1/<ns>/ns`; a scan of v1/ visits every key once (no seek in ReadTx).
      for await (const { key, value } of tx.list<NamespaceRecord>(['v1'])) {
        if (key.length !== 3 || key[2] !== 'ns') continue;
        const ns = { name: key[1]!, labels: RecordSchema.parse(value).labels };
        if (match(adapt({ name: ns.name }, ns.labels))) out.push(ns);
      }
    });
    return out;
  }

  async create(_ctx: Ctx, ns: Namespace): Promise<Namespace> {
    validateId('namespace', ns.name);
    validateLabels(`namespace ${ns.name}`, ns.labels);
    return this.db.update(async (tx) => {
      if (await tx.has(keys.namespace(ns.name))) throw alreadyExists(`namespace ${ns.name}: already exists`);
      tx.put(keys.namespace(ns.name), { labels: { ...ns.labels } } satisfies NamespaceRecord);
      return { name: ns.name, labels: { ...ns.labels } };
    });
  }

  async update(_ctx: Ctx, ns: Namespace, fieldpaths?: readonly string[]): Promise<Namespace> {
    validateId('namespace', ns.name);
    validateLabels(`namespace ${ns.name}`, ns.labels);
    return this.db.update(async (tx) => {
      const rec = await tx.get<NamespaceRecord>(keys.namespace(ns.name));
      if (!rec) throw notFound(`namespace ${ns.name}: not found`);
      const labels = updateLabels(`namespace ${ns.name}`, RecordSchema.parse(rec).labels, ns.labels, fieldpaths);
      tx.put(keys.namespace(ns.name), { labels } satisfies NamespaceRecord);
      return { name: ns.name, labels };
    });
  }

  async delete(_ctx: Ctx, name: string): Promise<void> {
    validateId('namespace', name);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.namespace(name)))) throw notFound(`namespace ${name}: not found`);
      const held: string[] = [];
      for (const [sub, what] of CONTENTS) if (!(await isEmptyUnder(tx, [...keys.nsRoot(name), sub]))) held.push(what);
      if (held.length) throw failedPrecondition(`namespace ${name} must be empty, but it still has ${held.join(', ')}`);
      await tx.delPrefix(keys.nsRoot(name));
    });
  }
}
