/**
 * `container prune`, `image prune` and `system prune`, with Docker's rules: containers that are
 * not running (their anonymous volumes stay, as `rm` without -v); dangling images (berth's images
 * named only by their id: a commit or import without a reference), or with `all` every image no
 * container uses; `system prune` does both, then volumes when asked (anonymous ones unless the
 * `all` filter, as Docker >= 23). berth has no build cache; networks are not berth's yet.
 * Filters: `until=` (a time or a duration back from now) and `label=` / `label!=`.
 */
import type { Ctx } from '../core/context';
import { errorKind, invalidArgument, isNotFound } from '../core/errors';
import { goDurationMs } from '../core/time';
import type { Image } from '../images';
import type { PruneResult } from '../volumes';
import type { EngineDeps } from './deps';
import { ImageResolver } from './image';
import type { EngineRecord } from './record';

export interface PruneOptions {
  filters?: Record<string, string[]>;
}

export interface PruneReport {
  /** Container ids, or image names. */
  deleted: string[];
  spaceReclaimed: number;
}

export interface SystemPruneOptions extends PruneOptions {
  /** Images: every image no container uses, not only dangling ones. */
  all?: boolean;
  /** Volumes too (unused anonymous ones; with the `all` filter named ones as well). */
  volumes?: boolean;
}

export interface SystemPruneReport {
  containers: PruneReport;
  images: PruneReport;
  /** Names of the user networks removed (networks are berthd's, not a namespace's). */
  networks: string[];
  volumes?: PruneResult;
  spaceReclaimed: number;
}

const FILTERS = ['until', 'label', 'label!'];

/** Docker's `until`: an RFC 3339 time, a Unix time, or a Go duration back from now (`24h`, `1h30m`). */
function untilOf(v: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const ago = goDurationMs(v);
  if (ago !== undefined) return now - ago;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`invalid filter 'until=${v}'`);
  return t;
}

export function pruneMatcher(filters: Record<string, string[]> = {}): (created: Date, labels: Record<string, string>) => boolean {
  for (const k of Object.keys(filters)) if (!FILTERS.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
  const until = (filters.until ?? []).map((v) => untilOf(v));
  const has = (labels: Record<string, string>, spec: string) => {
    const eq = spec.indexOf('=');
    return eq < 0 ? Object.hasOwn(labels, spec) : labels[spec.slice(0, eq)] === spec.slice(eq + 1);
  };
  return (created, labels) =>
    until.every((t) => created.getTime() < t) && (filters.label ?? []).every((l) => has(labels, l)) && (filters['label!'] ?? []).every((l) => !has(labels, l));
}

/** Containers that are not running; `remove` is the engine's rm (its events, its volumes). */
export async function pruneContainers(d: EngineDeps, ctx: Ctx, remove: (id: string) => Promise<void>, o: PruneOptions = {}): Promise<PruneReport> {
  const match = pruneMatcher(o.filters);
  const out: PruneReport = { deleted: [], spaceReclaimed: 0 };
  const stopped = (r: EngineRecord) => r.phase === 'ready' && (r.state.status === 'exited' || r.state.status === 'created' || r.state.status === 'dead');
  for (const r of (await d.records.list(ctx)).filter((r) => stopped(r) && match(r.created, r.config.labels))) {
    const size = await d.snapshotters
      .get(r.snapshotter)
      ?.usage(ctx, r.snapshotKey)
      .then((u) => u.size)
      .catch(() => 0);
    try {
      await remove(r.id);
    } catch (e) {
      if (isNotFound(e) || errorKind(e) === 'Conflict') continue; // gone, or started meanwhile
      throw e;
    }
    out.deleted.push(r.id);
    out.spaceReclaimed += size ?? 0;
  }
  return out;
}

/**
 * Images no container uses: dangling ones (named only by their id), or all with `all`. The space
 * reclaimed is what their blobs take that no image left refers to (the GC then removes them).
 */
export async function pruneImages(d: EngineDeps, ctx: Ctx, o: PruneOptions & { all?: boolean } = {}): Promise<PruneReport> {
  const match = pruneMatcher(o.filters);
  const resolver = new ImageResolver(d.images, d.content);
  const used = new Set((await d.records.list(ctx)).map((r) => r.imageId));
  const images = await d.images.list(ctx);
  const blobsOf = async (img: Image) => {
    const { manifest, desc } = await resolver.manifestOf(ctx, img.target);
    return new Map([desc, manifest.config, ...manifest.layers].map((b) => [b.digest, b.size] as const));
  };
  const info = await Promise.all(
    images.map(async (img) => ({
      img,
      blobs: await blobsOf(img).catch(() => new Map<string, number>()),
      id: await resolver.manifestOf(ctx, img.target).then(
        (m) => m.manifest.config.digest,
        () => '',
      ),
    })),
  );
  const doomed = info.filter(({ img, id }) => (o.all || img.name.startsWith('sha256:')) && !used.has(id) && match(img.createdAt, img.labels));
  const kept = new Set(info.filter((x) => !doomed.includes(x)).flatMap((x) => [...x.blobs.keys()]));
  const out: PruneReport = { deleted: [], spaceReclaimed: 0 };
  const freed = new Map<string, number>();
  for (const { img, blobs } of doomed) {
    try {
      await d.images.delete(ctx, img.name);
    } catch (e) {
      if (isNotFound(e)) continue;
      throw e;
    }
    out.deleted.push(img.name);
    for (const [digest, size] of blobs) if (!kept.has(digest)) freed.set(digest, size);
  }
  out.spaceReclaimed = [...freed.values()].reduce((a, b) => a + b, 0);
  return out;
}
