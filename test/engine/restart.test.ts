/**
 * A berthd crash (SIGKILL) with engine containers running: the monitors keep the containers and
 * their logs going; the next berthd finds the running container again (same pid), records the exit
 * of the one that ended meanwhile, and its log has every line, written while no berthd was up.
 */
import { runAndKillBerthd } from '../helpers/child-berthd';
import { testDirs } from '../helpers/daemon';
import { EngineFixture, until } from '../helpers/engine';
import { itRoot } from './it-root';

const f = new EngineFixture('engcrash');

afterAll(() => f.teardown(), 60_000);

describe('engine: berthd crash and restart', () => {
  itRoot(
    'containers and their logs outlive a SIGKILLed berthd; the next one takes them over',
    async () => {
      const dirs = await testDirs('berth-engine-');
      await f.setup(dirs);
      await f.addImage();
      await f.stop(); // the child berthd takes over the same root and state
      const [ticker, short] = await runAndKillBerthd<string[]>(
        dirs,
        f.ns,
        `const ids = [];
      for (const [name, script] of [['ticker', 'i=0; while :; do echo line-$i; i=$((i+1)); sleep 0.005; done'], ['short', 'sleep 1; exit 7']]) {
        const c = await engine.create(ctx, { image: 'busybox', name, cmd: ['sh', '-c', script] });
        await engine.start(ctx, c.id);
        ids.push(c.id);
      }
      return ids;`,
      );
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, 1500)); // nobody is listening; the ticker ticks, `short` exits
      const upAt = Date.now();

      await f.setup(dirs);
      const t = await f.engine.inspect(f.ctx, 'ticker');
      expect(t.id).toBe(ticker);
      expect(t.state.status).toBe('running');
      expect(t.state.pid).toBeGreaterThan(0);
      const s = await f.engine.inspect(f.ctx, short!);
      expect(s.state).toMatchObject({ status: 'exited', exitCode: 7 });
      // The exit happened while berthd was down; its time is the monitor's, not the restart's.
      expect(s.state.finishedAt!.getTime()).toBeLessThan(Date.now() - 200);

      const lines: string[] = [];
      let whileDown = 0;
      const ac = new AbortController();
      for await (const e of f.engine.logs({ ...f.ctx, signal: ac.signal }, 'ticker', { follow: true })) {
        lines.push(e.data.toString());
        if (e.time.getTime() > downAt && e.time.getTime() < upAt) whileDown++;
        if (e.time.getTime() > upAt + 200) ac.abort();
      }
      expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `line-${i}\n`));
      expect(whileDown).toBeGreaterThan(50); // written by the monitor while no berthd ran
      // Exits are followed again: stop escalates (a shell as pid 1 ignores SIGTERM) and is recorded.
      await f.engine.stop(f.ctx, 'ticker', { timeout: 1 });
      expect((await f.engine.inspect(f.ctx, 'ticker')).state).toMatchObject({ status: 'exited', exitCode: 137 });
      await until('no container processes', () => f.leaks().length === 0 || undefined);
    },
    60_000,
  );
});
