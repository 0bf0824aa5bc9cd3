/**
 * Issue 18's volume and restart-policy acceptance through the built `berth` binary against a
 * berthd child process: volume data survives `rm` and a berthd restart, the image's content is
 * copied into a new named volume, a volume in use refuses removal, prune removes exactly the
 * unused anonymous volumes; `on-failure:3` gives up after 3 restarts with growing delays, and
 * `unless-stopped` comes back after a berthd SIGKILL + restart but not after `stop`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fromTimestamp } from '../../src/client';
import { itRoot } from '../engine/it-root';
import { slow } from '../helpers/slow';
import { until } from '../helpers/until';
import { CliParityFixture } from './parity-fixture';

const f = new CliParityFixture('cli-vol');
const IMG = 'parity-vol:1';

beforeAll(async () => {
  await f.setup();
  await f.importImage(
    IMG,
    [
      { path: 'data', type: 'dir' },
      { path: 'data/seed.txt', type: 'file', content: 'from the image\n' },
    ],
    ['CMD ["sh"]', 'VOLUME /anon'],
  );
}, slow(120_000));
afterAll(() => f.teardown(), slow(60_000));

const state = async (ref: string) => (await f.inspect(ref)).state!;

describe('berth volume, -v and --mount', () => {
  itRoot(
    'a named volume is created on first use with the image content, refuses rm while used, and keeps its data across rm and a berthd restart',
    async () => {
      await f.ok(['run', '-d', '--name', 'writer', '-v', 'keep:/data', IMG, 'sh', '-c', 'echo written > /data/new.txt; sleep 1000']);
      await until('writer wrote', async () => (await f.berth(['exec', 'writer', 'cat', '/data/new.txt'])).stdout === 'written\n');
      expect(await f.ok(['exec', 'writer', 'cat', '/data/seed.txt'])).toBe('from the image\n');

      const ls = await f.ok(['volume', 'ls']);
      expect(ls.split('\n')[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
      expect(ls).toMatch(/^local\s+keep$/m);
      const [info] = JSON.parse(await f.ok(['volume', 'inspect', 'keep'])) as Array<Record<string, unknown>>;
      expect(info).toMatchObject({ Name: 'keep', Driver: 'local', Scope: 'local', Labels: null });
      expect(String(info!.Mountpoint)).toContain(f.dirs.root);

      const refused = await f.berth(['volume', 'rm', 'keep']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/Error response from daemon: .*keep.*in use/);

      await f.ok(['rm', '-f', 'writer']);
      await f.crashAndRestart();
      expect(await f.ok(['volume', 'ls', '-q'])).toContain('keep\n');
      const again = await f.berth(['run', '--rm', '-v', 'keep:/data', IMG, 'cat', '/data/new.txt', '/data/seed.txt']);
      expect(again).toMatchObject({ code: 0, stdout: 'written\nfrom the image\n' });
      expect(await f.ok(['volume', 'rm', 'keep'])).toBe('keep\n');
      expect((await f.berth(['volume', 'inspect', 'keep'])).code).toBe(1);
    },
  );

  itRoot('--mount, --tmpfs and --volumes-from; a missing bind source is refused as Docker refuses it', async () => {
    await f.ok(['volume', 'create', '--label', 'team=a', 'shared']);
    await f.ok(['create', '--name', 'holder', '--mount', 'type=volume,source=shared,target=/shared', IMG, 'true']);
    const r = await f.berth([
      'run',
      '--rm',
      '--volumes-from',
      'holder:ro',
      '--tmpfs',
      '/scratch:size=1m',
      IMG,
      'sh',
      '-c',
      'cat /shared/seed.txt 2>&1; touch /shared/x 2>&1 | grep -c Read-only; grep " /scratch " /proc/mounts | cut -d" " -f3',
    ]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toBe("cat: can't open '/shared/seed.txt': No such file or directory\n1\ntmpfs\n");
    const missing = await f.berth(['run', '--rm', '--mount', `type=bind,source=${f.work}/not-there,target=/x`, IMG, 'true']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain(`bind source path does not exist: ${f.work}/not-there`);
    expect(existsSync(`${f.work}/not-there`)).toBe(false);
    expect(JSON.parse(await f.ok(['volume', 'inspect', 'shared']))[0].Labels).toEqual({ team: 'a' });
    await f.ok(['rm', 'holder']);
  });

  itRoot('anonymous volumes: rm -v removes them, prune removes exactly the unused anonymous ones', async () => {
    await f.ok(['volume', 'create', 'named-unused']);
    await f.ok(['create', '--name', 'anon-kept', IMG, 'true']);
    await f.ok(['create', '--name', 'anon-rmv', IMG, 'true']);
    await f.ok(['create', '--name', 'anon-orphan', IMG, 'true']);
    const anonOf = async (n: string) => (await f.inspect(n)).mounts.find((m) => m.destination === '/anon')!.name;
    const [kept, rmv, orphan] = [await anonOf('anon-kept'), await anonOf('anon-rmv'), await anonOf('anon-orphan')];
    expect(kept).toMatch(/^[0-9a-f]{64}$/);
    await f.ok(['rm', '-v', 'anon-rmv']);
    await f.ok(['rm', 'anon-orphan']);
    const names = (await f.ok(['volume', 'ls', '-q'])).split('\n');
    expect(names).not.toContain(rmv);
    expect(names).toEqual(expect.arrayContaining([kept, orphan, 'named-unused']));
    // Exactly the anonymous volumes no container uses (those of containers removed without -v).
    const unused = (await f.client.engine.listVolumes({})).volumes.filter((v) => v.anonymous && v.users.length === 0).map((v) => v.name);
    expect(unused).toContain(orphan);
    expect(unused).not.toContain(kept);
    const pruned = (await f.ok(['volume', 'prune', '-f'])).split('\n');
    expect(pruned[0]).toBe('Deleted Volumes:');
    expect(pruned.slice(1, 1 + unused.length).sort()).toEqual(unused.sort());
    expect(pruned.slice(1 + unused.length)).toEqual(['', expect.stringMatching(/^Total reclaimed space: [0-9.]+k?B$/), '']);
    expect((await f.ok(['volume', 'ls', '-q'])).split('\n')).toEqual(expect.arrayContaining([kept, 'named-unused']));
    await f.ok(['rm', '-v', 'anon-kept']);
    await f.ok(['volume', 'rm', 'named-unused']);
  });
});

describe('berth run --restart', () => {
  itRoot('on-failure:3 restarts three times with growing delays, then stays exited', async () => {
    const id = (await f.ok(['run', '-d', '--restart', 'on-failure:3', IMG, 'sh', '-c', 'cut -d" " -f1 /proc/uptime >> /starts; exit 3'])).trim();
    await until(
      'three restarts and the end',
      async () => {
        const s = await state(id);
        return s.status === 'exited' && s.restart_count === 3;
      },
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1500)); // no fourth start comes
    const s = await state(id);
    expect(s).toMatchObject({ status: 'exited', exit_code: 3, restart_count: 3 });
    expect(JSON.parse(await f.ok(['inspect', '--format', '{{json .HostConfig.RestartPolicy}}', id]))).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    // The starts' times (kept in the container's layer, 10 ms resolution): the gaps grow (100, 200, 400 ms backoff).
    await f.ok(['cp', `${id}:/starts`, `${f.work}/starts`]);
    const times = readFileSync(`${f.work}/starts`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => Math.round(Number(l) * 1000));
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(190);
    expect(gaps[2]).toBeGreaterThanOrEqual(390);
    expect(await f.ok(['ps', '-a', '--filter', `id=${id}`, '--format', '{{.Status}}'])).toMatch(/^Exited \(3\)/);
    await f.ok(['rm', id]);
  });

  itRoot('unless-stopped comes back after berthd is SIGKILLed and its process died meanwhile, but not after stop', async () => {
    await f.ok(['run', '-d', '--name', 'svc', '--restart', 'unless-stopped', IMG, 'sleep', '1000']);
    await f.ok(['run', '-d', '--name', 'svc-stopped', '--restart', 'unless-stopped', IMG, 'sleep', '1000']);
    await f.ok(['stop', '-t', '0', 'svc-stopped']);
    const before = await state('svc');
    expect(before.status).toBe('running');
    const oldStart = fromTimestamp(before.started_at)!.getTime();
    // A reboot, as far as these containers know: their processes die while berthd is down.
    await f.crashAndRestart(async () => {
      process.kill(before.pid, 'SIGKILL');
      await until('the old process gone', () => {
        try {
          process.kill(before.pid, 0);
          return false;
        } catch {
          return true;
        }
      });
    });
    await until(
      'svc running again',
      async () => {
        const s = await state('svc');
        return s.status === 'running' && s.pid !== before.pid && fromTimestamp(s.started_at)!.getTime() > oldStart;
      },
      30_000,
    );
    expect((await state('svc-stopped')).status).toBe('exited');
    await f.ok(['rm', '-f', 'svc', 'svc-stopped']);
  });
});
