import { rm } from 'node:fs/promises';
import { failedPrecondition } from '../../core/errors';
import { MonitorClient } from './monitor-client';

/** Deletes a task's state dir once its monitor is gone (containerd's `shim delete`). */
export async function removeStateDir(stateDir: string): Promise<void> {
  const client = new MonitorClient(stateDir);
  const state = await client.state({ timeoutMs: 2000 }).catch(() => undefined);
  if (state && state.status !== 'stopped') throw failedPrecondition(`task ${stateDir}: still ${state.status}`);
  // A stopped monitor may still be unlinking its socket: ENOENT races are fine with force.
  await rm(stateDir, { recursive: true, force: true });
}
