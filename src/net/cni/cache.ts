/**
 * What was added, per network, container and interface, kept on disk so that a DEL after a
 * berthd restart has what the spec asks for: the exact config list of the ADD, its CNI_ARGS and
 * runtime config, and its result (the DEL's prevResult). libcni keeps the same under
 * /var/lib/cni/results; berth keeps it under its state dir, written atomically. An entry is
 * written before the ADD runs (`adding`) so that a crash half-way through leaves a record to
 * undo, and removed only once a DEL of every plugin succeeded.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dataLoss, fromErrno } from '../../core/errors';
import { writeFileAtomic } from '../../core/node/files';
import { parseConfList } from './conflist';
import type { CniResult, NetConfList, RuntimeConf } from './types';

export const CACHE_KIND = 'berthCniCacheV1';

export interface CacheEntry {
  kind: typeof CACHE_KIND;
  networkName: string;
  containerId: string;
  ifName: string;
  /** The namespace at ADD time (a DEL is given the current one). */
  netns: string;
  config: NetConfList;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: Record<string, unknown>;
  /** `adding` until every plugin's ADD returned; then the list's result. */
  state: 'adding' | 'added';
  result?: CniResult;
}

const fileName = (network: string, containerId: string, ifName: string) => `${network}-${containerId}-${ifName}.json`;

export class ResultCache {
  private readonly dir: string;
  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'results');
  }

  path(network: string, containerId: string, ifName: string): string {
    return join(this.dir, fileName(network, containerId, ifName));
  }

  async write(e: CacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(e.networkName, e.containerId, e.ifName), JSON.stringify(e));
  }

  begin(list: NetConfList, rt: RuntimeConf): CacheEntry {
    return {
      kind: CACHE_KIND,
      networkName: list.name,
      containerId: rt.containerId,
      ifName: rt.ifName,
      netns: rt.netns,
      config: list,
      ...(rt.args?.length ? { cniArgs: rt.args } : {}),
      ...(rt.capabilityArgs && Object.keys(rt.capabilityArgs).length ? { capabilityArgs: rt.capabilityArgs } : {}),
      state: 'adding',
    };
  }

  async read(network: string, containerId: string, ifName: string): Promise<CacheEntry | undefined> {
    const p = this.path(network, containerId, ifName);
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromErrno(e, `CNI cache ${p}`);
    }
    return decode(text, p);
  }

  async remove(network: string, containerId: string, ifName: string): Promise<void> {
    await rm(this.path(network, containerId, ifName), { force: true });
  }

  /** Every entry (for reconciling after a restart); unreadable files are reported, not skipped silently. */
  async list(containerId?: string): Promise<{ entries: CacheEntry[]; broken: Array<{ path: string; error: Error }> }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], broken: [] };
      throw fromErrno(e, `CNI cache ${this.dir}`);
    }
    const entries: CacheEntry[] = [];
    const broken: Array<{ path: string; error: Error }> = [];
    const wanted = (f: string) => f.endsWith('.json') && (containerId === undefined || f.includes(`-${containerId}-`));
    for (const n of names.filter(wanted).sort()) {
      const p = join(this.dir, n);
      try {
        const e = decode(await readFile(p, 'utf8'), p);
        if (containerId === undefined || e.containerId === containerId) entries.push(e);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') broken.push({ path: p, error: e as Error });
      }
    }
    return { entries, broken };
  }
}

function decode(text: string, path: string): CacheEntry {
  let v: Partial<CacheEntry>;
  try {
    v = JSON.parse(text) as Partial<CacheEntry>;
  } catch (e) {
    throw dataLoss(`CNI cache ${path}: not JSON`, { cause: e });
  }
  if (v.kind !== CACHE_KIND || typeof v.networkName !== 'string' || typeof v.containerId !== 'string' || typeof v.ifName !== 'string')
    throw dataLoss(`CNI cache ${path}: not a berth CNI cache entry`);
  return { ...(v as CacheEntry), netns: typeof v.netns === 'string' ? v.netns : '', config: parseConfList(v.config, path) };
}
