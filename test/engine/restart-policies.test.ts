/**
 * Restart policies run by the engine on a real berthd stack: `on-failure:3` gives up after three
 * restarts 100/200/400 ms apart, `always` restarts after exit 0 until an explicit stop, and
 * across berthd's death: a container still running is taken over as it is; after a host reboot
 * (its monitor and process gone) `unless-stopped` and `always` come back, a stopped
 * `unless-stopped` does not, a stopped `always` does (a stop cancels it only until berthd starts).
 */
import { readFileSync } from 'node:fs';
import type { EngineEvent } from '../../src/engine';
import { runAndKillBerthd } from '../helpers/child-berthd';
import { testDirs } from '../helpers/daemon';
import { EngineFixture, until } from '../helpers/engine';
import { itRoot } from './it-root';

const f = new EngineFixture('engrestart');
afterAll(async () => {
  if (f.engine) await f.teardown(); // (not set up when only the other describe runs)
}, 60_000);

const IMG = 'busybox';

/** Starts of a container seen on the engine's event stream, with their times. */
function watchStarts(id: string): { times: number[]; stop(): void } {
  const ac = new AbortController();
  const times: number[] = [];
  void (async () => {
    try {
      for await (const e of f.engine.events({ ...f.ctx, signal: ac.signal }) as AsyncIterable<EngineEvent>)
        if (e.id === id && e.action === 'start') times.push(e.time.getTime());
    } catch {
      /* aborted */
    }
  })();
  return { times, stop: () => ac.abort() };
}

describe('engine: restart policies', () => {
  beforeAll(async () => {
    await f.setup();
    await f.addImage();
  }, 120_000);

  itRoot('on-failure:3: three restarts, 100/200/400 ms of backoff, then exited with RestartCount 3', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, restart: 'on-failure:3', cmd: ['sh', '-c', 'exit 3'] });
    const w = watchStarts(c.id);
    await new Promise((r) => setTimeout(r, 100)); // the event subscription is in place
    await f.engine.start(f.ctx, c.id);
    const done = await until('it gave up', async () => {
      const s = (await f.engine.inspect(f.ctx, c.id)).state;
      return s.status === 'exited' && s.restartCount === 3 ? s : undefined;
    });
    expect(done.exitCode).toBe(3);
    await new Promise((r) => setTimeout(r, 1000)); // no fourth restart comes
    w.stop();
    expect(w.times.length).toBe(4);
    const gaps = w.times.slice(1).map((t, i) => t - w.times[i]!);
    // Each gap is the run (a few ms) plus the backoff.
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(200);
    expect(gaps[2]).toBeGreaterThanOrEqual(400);
    expect(gaps[2]).toBeGreaterThan(gaps[0]!);
    expect((await f.engine.inspect(f.ctx, c.id)).hostConfig.restartPolicy).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('always restarts after exit 0; an explicit stop ends it; start counts from 0 again', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, restart: 'always', cmd: ['sh', '-c', 'sleep 0.2'] });
    await f.engine.start(f.ctx, c.id);
    await until('restarted twice', async () => ((await f.engine.inspect(f.ctx, c.id)).state.restartCount >= 2 ? true : undefined));
    await f.engine.stop(f.ctx, c.id, { timeout: 1 });
    const stopped = (await f.engine.inspect(f.ctx, c.id)).state;
    expect(stopped.status).toBe('exited');
    expect(stopped.manuallyStopped).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await f.engine.inspect(f.ctx, c.id)).state.status).toBe('exited');
    await f.engine.start(f.ctx, c.id);
    expect((await f.engine.inspect(f.ctx, c.id)).state).toMatchObject({ restartCount: 0, manuallyStopped: false });
    await f.engine.remove(f.ctx, c.id, { force: true });
  });

  itRoot('update --restart and restart-related refusals', async () => {
    await expect(f.engine.create(f.ctx, { image: IMG, restart: 'always', autoRemove: true, cmd: ['true'] })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(f.engine.create(f.ctx, { image: IMG, restart: 'sometimes', cmd: ['true'] })).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining("unknown policy 'sometimes'"),
    });
    const c = await f.engine.create(f.ctx, { image: IMG, cmd: ['true'] });
    await f.engine.update(f.ctx, c.id, { restart: 'unless-stopped' });
    expect((await f.engine.inspect(f.ctx, c.id)).hostConfig.restartPolicy.name).toBe('unless-stopped');
    await f.engine.remove(f.ctx, c.id);
  });
});

/** The monitor (its parent) and the process itself, killed: what a reboot leaves of a container. */
function killWithMonitor(pid: number): void {
  const ppid = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  process.kill(ppid, 'SIGKILL');
  process.kill(pid, 'SIGKILL');
}

describe('engine: restart policies across berthd’s death', () => {
  const g = new EngineFixture('engboot');
  afterAll(() => g.teardown(), 60_000);

  itRoot(
    'SIGKILLed berthd: running ones are taken over; after a "reboot" the policies start what they should',
    async () => {
      const dirs = await testDirs('berth-engboot-');
      await g.setup(dirs);
      await g.addImage();
      await g.stop(); // the child berthd takes over the same root and state
      const ids = await runAndKillBerthd<Record<string, string>>(
        dirs,
        g.ns,
        `const ids = {};
        for (const [name, restart, stop] of [['keeps', 'unless-stopped', false], ['stopped', 'unless-stopped', true], ['always-stopped', 'always', true], ['always', 'always', false]]) {
          const c = await engine.create(ctx, { image: 'busybox', name, restart, cmd: ['sleep', '1000'] });
          await engine.start(ctx, c.id);
          if (stop) await engine.stop(ctx, c.id, { timeout: 0 });
          ids[name] = c.id;
        }
        return ids;`,
      );
      const crashedAt = Date.now();

      // berthd back: the running ones were never down; the stopped `always` comes back (berthd started).
      await g.setup(dirs);
      const keeps = await g.engine.inspect(g.ctx, 'keeps');
      expect(keeps.state.status).toBe('running');
      expect(keeps.state.startedAt!.getTime()).toBeLessThan(crashedAt); // the same run, taken over
      expect(keeps.id).toBe(ids.keeps);
      await until('always-stopped started by berthd', async () =>
        (await g.engine.inspect(g.ctx, 'always-stopped')).state.status === 'running' ? true : undefined,
      );
      expect((await g.engine.inspect(g.ctx, 'stopped')).state).toMatchObject({ status: 'exited', manuallyStopped: true });

      // A "reboot": berthd stops, every container and its monitor die with the host.
      const pids = await Promise.all(['keeps', 'always', 'always-stopped'].map(async (n) => (await g.engine.inspect(g.ctx, n)).state.pid));
      await g.stop();
      for (const pid of pids) killWithMonitor(pid);
      await new Promise((r) => setTimeout(r, 300));
      await g.setup(dirs);
      for (const n of ['keeps', 'always', 'always-stopped'])
        await until(`${n} back after the reboot`, async () => {
          const s = (await g.engine.inspect(g.ctx, n)).state;
          return s.status === 'running' && !pids.includes(s.pid) ? true : undefined;
        });
      expect((await g.engine.inspect(g.ctx, 'stopped')).state.status).toBe('exited');
      expect(Object.keys(ids).sort()).toEqual(['always', 'always-stopped', 'keeps', 'stopped']);
    },
    90_000,
  );
});
