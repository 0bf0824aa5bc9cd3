/**
 * `update`: a container's resources (memory, CPUs, pids) and restart policy change; a running one's
 * cgroup at once (Tasks' update), its stored spec for the next start, its record for inspect.
 * Only what is given changes, as Docker's update.
 */
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { ResourceUpdate } from '../tasks';
import type { OciSpec } from '../tasks/spec';
import type { EngineDeps } from './deps';
import type { Lifecycle } from './lifecycle';
import type { EngineRecord } from './record';
import { checkAutoRemove, parseRestartPolicy } from './restart/policy';
import type { HostConfig } from './types';
import { parseCpus, parseMemory } from './units';

export interface UpdateOptions {
  /** `--memory`: Docker's sizes; 0 removes the limit. */
  memory?: number | string;
  /** `--cpus`; 0 removes the limit. */
  cpus?: number | string;
  /** `--pids-limit`; 0 or -1 removes the limit. */
  pidsLimit?: number;
  /** `--restart`. */
  restart?: string;
}

const CPU_PERIOD = 100_000;

/** The changed HostConfig fields (Docker's checks and messages). */
function changedHostConfig(r: EngineRecord, o: UpdateOptions): Partial<HostConfig> {
  const out: Partial<HostConfig> = {};
  if (o.memory !== undefined) out.memory = parseMemory(o.memory);
  if (o.cpus !== undefined) out.nanoCpus = parseCpus(o.cpus);
  if (o.pidsLimit !== undefined) {
    if (!Number.isInteger(o.pidsLimit) || o.pidsLimit < -1) throw invalidArgument(`invalid pids limit ${o.pidsLimit}`);
    out.pidsLimit = o.pidsLimit > 0 ? o.pidsLimit : 0;
  }
  if (o.restart !== undefined) {
    const p = parseRestartPolicy(o.restart);
    if (r.hostConfig.autoRemove && p.name !== 'no') throw invalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
    checkAutoRemove(p, r.hostConfig.autoRemove);
    out.restartPolicy = p;
  }
  if (Object.keys(out).length === 0) throw invalidArgument('you must provide one or more flags when using this command');
  return out;
}

function resourcesOf(h: Partial<HostConfig>): ResourceUpdate {
  return {
    ...(h.memory !== undefined ? { memory: { limit: h.memory } } : {}),
    ...(h.nanoCpus !== undefined ? { cpu: { quota: h.nanoCpus > 0 ? Math.round((h.nanoCpus * CPU_PERIOD) / 1e9) : -1, period: CPU_PERIOD } } : {}),
    ...(h.pidsLimit !== undefined ? { pids: { limit: h.pidsLimit } } : {}),
  };
}

/** The stored OCI spec's resources, so the next start has them too. */
function patchSpec(spec: OciSpec, h: Partial<HostConfig>): void {
  const r = (spec.linux!.resources ??= {});
  if (h.memory !== undefined) {
    if (h.memory > 0) r.memory = { ...(r.memory ?? {}), limit: h.memory };
    else if (r.memory) delete r.memory.limit;
  }
  if (h.nanoCpus !== undefined) {
    if (h.nanoCpus > 0) r.cpu = { ...(r.cpu ?? {}), quota: Math.round((h.nanoCpus * CPU_PERIOD) / 1e9), period: CPU_PERIOD };
    else if (r.cpu) delete r.cpu.quota;
  }
  if (h.pidsLimit !== undefined) {
    if (h.pidsLimit > 0) r.pids = { limit: h.pidsLimit };
    else delete r.pids;
  }
}

export async function updateContainer(d: EngineDeps, life: Lifecycle, ctx: Ctx, r: EngineRecord, o: UpdateOptions): Promise<{ warnings: string[] }> {
  const changed = changedHostConfig(r, o);
  const resources = resourcesOf(changed);
  await life.serial(ctx.ns, r.id, async () => {
    const cur = (await d.records.get(ctx, r.id)) ?? r;
    if (Object.keys(resources).length && (cur.state.status === 'running' || cur.state.status === 'paused')) await d.tasks.update(ctx, r.id, resources);
    if (Object.keys(resources).length) {
      const c = await d.containers.get(ctx, r.id);
      const spec = JSON.parse(Buffer.from(c.spec!.value, 'base64').toString('utf8')) as OciSpec;
      patchSpec(spec, changed);
      await d.containers.update(ctx, { ...c, spec: { ...c.spec!, value: Buffer.from(JSON.stringify(spec)).toString('base64') } }, ['spec']);
    }
    await d.records.update(ctx, r.id, (x) => ({ ...x, hostConfig: { ...x.hostConfig, ...changed } }));
  });
  return { warnings: [] };
}
