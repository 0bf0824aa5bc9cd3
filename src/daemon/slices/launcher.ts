import { helperLauncher } from '../../tasks';
import type { Launcher } from '../../tasks/helper/launcher';
import { Part, type Slice } from '../slice';

/**
 * The helper launcher (src/tasks/helper/launcher.ts): tasks fork their berth-helpers through it,
 * and the snapshotters hand it removed trees to delete off the event loop. Null where its socket
 * path would not fit. Its own slice, below both, so neither looks the other up.
 */
export const LAUNCHER = new Part<Launcher | null>('launcher');

export const launcherSlice: Slice = {
  name: 'launcher',
  requires: [],
  provides: [LAUNCHER],
  plugins: () => [],
  wire(ctx) {
    const launcher = helperLauncher({ state: ctx.config.state, log: ctx.log.child({ component: 'tasks' }) }) ?? null;
    // Shutdown hooks run in reverse wiring order: the task manager has stopped when this closes.
    if (launcher) ctx.onShutdown(() => launcher.close());
    ctx.provide(LAUNCHER, launcher);
  },
};
