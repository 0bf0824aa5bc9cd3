/**
 * A container's mounts through its life, for the engine to call at each step:
 *
 *   create   prepareMounts: plan (plan.ts), check/make bind sources, take the volumes (created on
 *            first use, anonymous ones named), copy the image's content into empty volumes
 *            (Docker's copy-up, from the new container's own filesystem), store the result
 *   start    mountVolumes: each volume mounted (a mounted local volume on the host) → OCI mounts
 *   exit     unmountVolumes
 *   rm       releaseVolumes: no longer a user; `rm -v`/`--rm` also removes its anonymous volumes
 */
import type { Ctx } from '../../core/context';
import type { RootfsSource } from '../../rootfs';
import type { Volumes } from '../../volumes';
import { bindSourcesToCreate, checkBindSources, ociMounts, planMounts, type MountRequest, type OciMount } from './plan';
import type { MountSpec } from './types';

export interface MountDeps {
  volumes: Volumes;
  exists(path: string): boolean;
  /** mkdir -p, 0755 (a `-v` bind source that is missing: Docker's legacy behaviour). */
  makeDir(path: string): Promise<void>;
}

/**
 * At create. `rootfs` is the new container's filesystem before it runs (its snapshot), for the
 * copy-up. Returns the mounts to store with the container, volumes by name. All or nothing: the
 * volumes it took are given back when a later step fails.
 */
export async function prepareMounts(ctx: Ctx, d: MountDeps, id: string, request: MountRequest, rootfs: RootfsSource): Promise<MountSpec[]> {
  const specs = planMounts(request);
  checkBindSources(specs, (p) => d.exists(p));
  for (const src of bindSourcesToCreate(specs)) if (!d.exists(src)) await d.makeDir(src);
  const wanted = specs.filter((m) => m.type === 'volume');
  if (!wanted.length) return specs;
  const taken = await d.volumes.use(
    ctx,
    id,
    wanted.map((m) => ({
      ...(m.source ? { name: m.source } : {}),
      create: {
        ...(m.volumeDriver ? { driver: m.volumeDriver } : {}),
        ...(m.volumeLabels ? { labels: m.volumeLabels } : {}),
        ...(m.volumeOptions ? { options: m.volumeOptions } : {}),
      },
    })),
  );
  const named = new Map(wanted.map((m, i) => [m, taken[i]!.name]));
  const out = specs.map((m) => (named.has(m) ? { ...m, source: named.get(m)! } : m));
  try {
    for (const m of out) if (m.type === 'volume' && m.copyData) await d.volumes.populate(ctx, m.source, rootfs, m.target);
  } catch (e) {
    await d.volumes.release(ctx, id, { removeAnonymous: true }).catch(() => undefined);
    throw e;
  }
  return out;
}

/** At start: every volume mounted for `id`; the OCI mounts to add to its spec. */
export async function mountVolumes(ctx: Ctx, volumes: Volumes, id: string, specs: readonly MountSpec[], tmpfsSize: (s: string) => number): Promise<OciMount[]> {
  const paths = new Map<string, string>();
  try {
    for (const m of specs) if (m.type === 'volume' && !paths.has(m.source)) paths.set(m.source, await volumes.mount(ctx, m.source, id));
    return ociMounts(specs, (name) => paths.get(name)!, tmpfsSize);
  } catch (e) {
    await unmountVolumes(ctx, volumes, id, specs).catch(() => undefined);
    throw e;
  }
}

/** After the container stopped (its exit recorded). */
export async function unmountVolumes(ctx: Ctx, volumes: Volumes, id: string, specs: readonly MountSpec[]): Promise<void> {
  for (const name of new Set(specs.filter((m) => m.type === 'volume').map((m) => m.source))) await volumes.unmount(ctx, name, id);
}

/** At `rm`: `removeAnonymous` for `rm -v` and `--rm`. Returns the volumes removed. */
export function releaseVolumes(ctx: Ctx, volumes: Volumes, id: string, removeAnonymous: boolean): Promise<string[]> {
  return volumes.release(ctx, id, { removeAnonymous });
}

/** Docker's inspect `Mounts`. `dataDir` gives a volume's directory. */
export interface InspectMount {
  Type: 'volume' | 'bind' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export function inspectMounts(specs: readonly MountSpec[], dataDir: (volume: string) => string): InspectMount[] {
  return specs.map((m) => ({
    Type: m.type,
    ...(m.type === 'volume' ? { Name: m.source, Driver: m.volumeDriver || 'local' } : {}),
    Source: m.type === 'volume' ? dataDir(m.source) : m.source,
    Destination: m.target,
    Mode: m.mode ?? '',
    RW: !m.readOnly,
    Propagation: m.type === 'bind' ? (m.propagation ?? 'rprivate') : '',
  }));
}
