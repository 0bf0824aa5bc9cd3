/**
 * After a berthd restart: every engine record is matched with its task again (TaskManager has
 * reconnected to the monitors already). A container that still runs is followed again; one that
 * exited while berthd was down gets its exit recorded (its monitor kept the status); one whose
 * task is gone (a reboot) is exited with 255. Creates and removals a crash interrupted are
 * finished: nothing half-made stays.
 */
import { background } from '../core/context';
import { isNotFound } from '../core/errors';
import { discardContainer } from './create';
import type { EngineDeps } from './deps';
import type { Lifecycle } from './lifecycle';

export async function restoreEngine(d: EngineDeps, life: Lifecycle): Promise<{ running: number; exited: number; cleaned: number }> {
  const out = { running: 0, exited: 0, cleaned: 0 };
  for (const { name: ns } of await d.namespaces.list(background(''))) {
    const ctx = background(ns, { log: d.log });
    for (const r of await d.records.list(ctx).catch((e) => {
      d.log.error('engine: unreadable records', { ns, err: e as Error });
      return [];
    })) {
      try {
        if (r.phase === 'creating') {
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
          if (r.state.status !== task.status) await d.records.update(ctx, r.id, (x) => void (x.state = { ...x.state, status: task!.status as 'running' | 'paused', pid: task!.pid }));
          life.watch(ns, r.id);
          out.running++;
        } else if (task?.status === 'stopped' && task.exit) {
          await life.serial(ns, r.id, () => life.onExit(ns, r.id, task!.exit!));
          out.exited++;
        } else if (wasRunning) {
          await life.serial(ns, r.id, () => life.onExit(ns, r.id, { pid: r.state.pid, exitStatus: 255, exitedAt: new Date(), oomKilled: false }, 'the task was gone when berthd started (host rebooted?)'));
          out.exited++;
        }
      } catch (e) {
        d.log.error('engine: restoring a container failed', { ns, id: r.id, err: e as Error });
      }
    }
  }
  return out;
}
