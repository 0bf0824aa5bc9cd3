/**
 * Issue 18's `update` and prune acceptance through the built `berth` binary: `update --memory`
 * changes a running container's cgroup limit at once; container, image, volume and system prune
 * remove exactly what is unused. And Export's flow control: a client that stops reading holds
 * berthd at its stream window, not a whole export in memory.
 */
import { readFileSync } from 'node:fs';
import { cgroupValue } from '../helpers/engine';
import { itRoot } from '../engine/it-root';
import { slow } from '../helpers/slow';
import { CliParityFixture } from './parity-fixture';

const f = new CliParityFixture('cli-prune');
const IMG = 'parity-prune:1';

beforeAll(async () => {
  await f.setup();
  await f.importImage(IMG, [], ['CMD ["sh"]', 'VOLUME /anon']);
}, slow(120_000));
afterAll(() => f.teardown(), slow(60_000));

const idOf = async (ref: string) => (await f.inspect(ref)).id;
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('berth update', () => {
  itRoot('--memory, --pids-limit and --restart change a running container at once', async () => {
    await f.ok(['run', '-d', '--name', 'upd', '-m', '128m', IMG, 'sleep', '1000']);
    const { pid } = (await f.inspect('upd')).state!;
    expect(cgroupValue(pid, 'memory.max', ['memory', 'memory.limit_in_bytes'])).toBe(String(128 * 1024 * 1024));
    expect(await f.ok(['update', '--memory', '64m', '--pids-limit', '50', '--restart', 'always', 'upd'])).toBe('upd\n');
    expect(cgroupValue(pid, 'memory.max', ['memory', 'memory.limit_in_bytes'])).toBe(String(64 * 1024 * 1024));
    expect(cgroupValue(pid, 'pids.max', ['pids', 'pids.max'])).toBe('50');
    expect(await f.ok(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}', 'upd'])).toBe(
      '67108864 50 always\n',
    );
    const none = await f.berth(['update', '--memory', '64m', 'no-such-container']);
    expect(none).toMatchObject({ code: 1, stderr: expect.stringMatching(/^Error response from daemon: .*no-such-container/) });
    const nothing = await f.berth(['update', 'upd']);
    expect(nothing).toMatchObject({ code: 1, stderr: expect.stringContaining('you must provide one or more flags') });
    await f.ok(['rm', '-f', '-v', 'upd']);
  });
});

describe('berth container/image/volume/system prune', () => {
  itRoot('each prune removes exactly what nothing uses', async () => {
    await f.ok(['run', '-d', '--name', 'keeper', IMG, 'sleep', '1000']);
    await f.ok(['create', '--name', 'created-only', IMG, 'true']);
    await f.ok(['run', '--name', 'ran-once', IMG, 'true']);
    const stopped = [await idOf('created-only'), await idOf('ran-once')].sort();
    const anonOf = async (ref: string) => (await f.inspect(ref)).mounts.find((m) => m.destination === '/anon')!.name;
    // container prune leaves their anonymous volumes (as rm without -v); system prune --volumes takes them.
    const leftAnon = [await anonOf('created-only'), await anonOf('ran-once')];
    const out = (await f.ok(['container', 'prune', '-f'])).split('\n');
    expect(out[0]).toBe('Deleted Containers:');
    expect(out.slice(1, 3).sort()).toEqual(stopped);
    expect(out.slice(3)).toEqual(['', expect.stringMatching(/^Total reclaimed space: /), '']);
    expect(await f.ok(['ps', '-a', '--format', '{{.Names}}'])).toBe('keeper\n');

    // Images: a dangling one (imported without a name), a named unused one, the one keeper uses.
    const dangling = await f.importImage('', []);
    const named = await f.importImage('prune-named:1', [{ path: 'x', type: 'file', content: 'x\n' }]);
    const pruned = await f.ok(['image', 'prune', '-f']);
    expect(pruned).toMatch(new RegExp(`^Deleted Images:\\ndeleted: ${dangling}\\n\\nTotal reclaimed space: `));
    const all = await f.ok(['image', 'prune', '-a', '-f']);
    expect(all).toMatch(/^Deleted Images:\ndeleted: .*prune-named:1\n\nTotal reclaimed space: /);
    const ids = (await f.client.engine.listImages({})).images.map((i) => i.id);
    expect(ids).not.toContain(dangling);
    expect(ids).not.toContain(named);
    expect((await f.client.engine.listImages({})).images.flatMap((i) => i.repo_tags)).toContain(IMG);

    // System prune: a stopped container (its anonymous volume then unused) and a dangling image go;
    // the running container, its image and volume, and a named volume stay.
    await f.ok(['volume', 'create', 'sys-named']);
    await f.ok(['network', 'create', 'sys-unused']);
    await f.ok(['network', 'create', 'sys-used']);
    await f.ok(['network', 'connect', 'sys-used', 'keeper']);
    await f.ok(['run', '--name', 'sys-stopped', IMG, 'true']);
    const stoppedId = await idOf('sys-stopped');
    const anon = [await anonOf('sys-stopped'), ...leftAnon].sort();
    const keeperAnon = await anonOf('keeper');
    const dangling2 = await f.importImage('', [{ path: 'y', type: 'file', content: 'y\n' }]);
    const sys = await f.ok(['system', 'prune', '-f', '--volumes']);
    const lines = sys.split('\n');
    expect(lines.slice(0, 7)).toEqual(['Deleted Containers:', stoppedId, '', 'Deleted Networks:', 'sys-unused', '', 'Deleted Volumes:']);
    expect(lines.slice(7, 10).sort()).toEqual(anon);
    expect(lines.slice(10)).toEqual(['', 'Deleted Images:', `deleted: ${dangling2}`, '', expect.stringMatching(/^Total reclaimed space: \S+B$/), '']);
    expect((await f.ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort()).toEqual([keeperAnon, 'sys-named'].sort());
    expect(await f.ok(['ps', '-a', '--format', '{{.Names}}'])).toBe('keeper\n');
    expect((await f.ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n')).toContain('sys-used');
    await f.ok(['rm', '-f', '-v', 'keeper']);
    await f.ok(['network', 'rm', 'sys-used']);
    await f.ok(['volume', 'rm', 'sys-named']);
  });
});

describe('Engine/Export flow control', () => {
  itRoot('a client that stops reading holds berthd at its stream window; the whole export then arrives', async () => {
    await f.ok(['run', '-d', '--name', 'big', IMG, 'sh', '-c', 'head -c 100000000 /dev/urandom > /big; touch /done; sleep 1000']);
    const { until } = await import('../helpers/until');
    await until('the big file written', async () => (await f.berth(['exec', 'big', 'test', '-e', '/done'])).code === 0, 60_000);
    const berthd = f.daemon.child!.pid!;
    const before = rssKb(berthd);
    const it = f.client.engine.exportArchive({ container: 'big' })[Symbol.asyncIterator]();
    let total = (await it.next()).value!.length;
    await new Promise((r) => setTimeout(r, slow(2000))); // the client reads nothing meanwhile
    const grown = rssKb(berthd) - before;
    expect(grown).toBeLessThan(40 * 1024); // well under the 100 MB the export holds
    for (let r = await it.next(); !r.done; r = await it.next()) total += r.value.length;
    expect(total).toBeGreaterThan(100_000_000);
    await f.ok(['rm', '-f', 'big']);
  });
});
