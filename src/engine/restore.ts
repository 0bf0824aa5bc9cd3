/**
 * After a berthd restart: every engine record is matched with its task again (TaskManager has
 * reconnected to the monitors already). A container that still runs is followed again; one that
 * exited while berthd was down gets its exit recorded (its monitor kept the status); one whose
 * task is gone (a reboot) is exited with 255. Creates and removals a crash interrupted are
 * finished: nothing half-made stays. Then the restart policies start what they would after a
 * host reboot, and volume users whose container is gone are released.
 */
import { background, type Ctx } from '../core/context';
import { isNotFound } from '../core/errors';
import { discardContainer } from './create';
import type { EngineDeps } from './deps';
import type { Lifecycle } from './lifecycle';
import type { EngineRecord } from './record';
import { startsOnBoot } from './restart/policy';

export async function restoreEngine(d: EngineDeps, life: Lifecycle): Promise<{ running: number; exited: number; cleaned: number; restarted: number }> {
  const out = { running: 0, exited: 0, cleaned: 0, restarted: 0 };
  for (const { name: ns } of await d.namespaces.list(background(''))) {
    const ctx = background(ns, { log: d.log });
    for (const r of await d.records.list(ctx).catch((e) => {
      d.log.error('engine: unreadable records', { ns, err: e as Error });
      return [];
    })) {
      try {
        if (r.phase === 'creating') {
          await d.volumes.release(ctx, r.id, { removeAnonymous: true });
          await discardContainer(d, ctx, r);
          out.cleaned++;
          continue;
        }
        if (r.phase === 'removing') {
          await life.resumeRemoval(ctx, r);
          out.cleaned++;
          continue;
        }
        let task: ReturnType<typeof d.tasks.get> | undefined;
        try {
          task = d.tasks.get(ctx, r.id);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        const wasRunning = r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'restarting';
        if (r.state.status === 'created' || r.state.status === 'exited' || r.state.status === 'dead') {
          // Never started (a start cut short leaves a created task), or its exit is recorded already.
          if (task) await d.tasks.delete(ctx, r.id).catch(() => undefined);
        } else if (task && (task.status === 'running' || task.status === 'paused')) {
          if (r.state.status !== task.status)
            await d.records.update(ctx, r.id, (x) => void (x.state = { ...x.state, status: task!.status as 'running' | 'paused', pid: task!.pid }));
          life.watch(ns, r.id);
          out.running++;
        } else if (task?.status === 'stopped' && task.exit) {
          await life.serial(ns, r.id, () => life.onExit(ns, r.id, task!.exit!, '', { restoring: true }));
          out.exited++;
        } else if (wasRunning) {
          await life.serial(ns, r.id, () =>
            life.onExit(
              ns,
              r.id,
              { pid: r.state.pid, exitStatus: 255, exitedAt: new Date(), oomKilled: false },
              'the task was gone when berthd started (host rebooted?)',
              { restoring: true },
            ),
          );
          out.exited++;
        }
      } catch (e) {
        d.log.error('engine: restoring a container failed', { ns, id: r.id, err: e as Error });
      }
    }
    const records = await d.records.list(ctx).catch(() => []);
    await releaseOrphans(d, ctx, new Set(records.map((r) => r.id)));
    // Then what their restart policies start again, as after a host reboot (Docker's restore).
    out.restarted += bootStarts(d, life, ctx, records);
  }
  return out;
}

/**
 * Every stopped container whose policy restarts it now (Docker's restore: `always` even after a
 * stop, `unless-stopped` unless stopped on purpose, `on-failure` after a failure with retries
 * left) is started, in the background, as an explicit start. Returns how many.
 */
function bootStarts(d: EngineDeps, life: Lifecycle, ctx: Ctx, records: readonly EngineRecord[]): number {
  const due = records.filter(
    (r) =>
      r.phase === 'ready' &&
      startsOnBoot({
        policy: r.hostConfig.restartPolicy,
        stopped: r.state.status === 'exited' || r.state.status === 'restarting',
        startedBefore: r.state.startedAt !== undefined,
        exitCode: r.state.exitCode,
        manuallyStopped: r.state.manuallyStopped,
        restartCount: r.state.restartCount,
      }),
  );
  for (const r of due)
    life
      .start(ctx, r.id, { explicit: true })
      .catch((e) => d.log.warn('engine: starting a container at boot failed', { ns: ctx.ns, id: r.id, err: e as Error }));
  return due.length;
}

/** Volume users whose container is gone (a crash between a removal's steps): released. */
async function releaseOrphans(d: EngineDeps, ctx: Ctx, known: ReadonlySet<string>): Promise<void> {
  const users = new Set((await d.volumes.list(ctx).catch(() => [])).flatMap((v) => v.users));
  for (const id of users)
    if (!known.has(id))
      await d.volumes
        .release(ctx, id)
        .catch((e) => d.log.warn('engine: releasing the volumes of a gone container failed', { ns: ctx.ns, id, err: e as Error }));
}
