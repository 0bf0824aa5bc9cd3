/**
 * What a container sees: Docker's defaults (capabilities, masked paths, /etc files, its cgroup
 * read-only at /sys/fs/cgroup, /dev/shm 64m, no /run tmpfs), the image config merged with the
 * request (Entrypoint/Cmd, Env, User from /etc/passwd, WorkingDir), resources, --read-only,
 * --cap-add/--cap-drop, --privileged and --init.
 */
import type { CreateOptions } from '../../src/engine';
import { EngineFixture } from '../helpers/engine';
import { itRoot } from './it-root';
import { busyboxEntries } from '../helpers/images';

const f = new EngineFixture('engdef');
const APP = 'docker.io/library/app:1';
beforeAll(async () => {
  await f.setup();
  await f.addImage();
  await f.addImage({
    name: APP,
    layers: [
      {
        entries: [
          ...busyboxEntries().filter((e) => !e.path.startsWith('etc/')),
          { path: 'etc', type: 'dir' },
          { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\n' },
          { path: 'etc/group', type: 'file', content: 'root:x:0:\napp:x:2345:\nextra:x:3456:app\nother:x:4567:\n' },
          { path: 'srv', type: 'dir' },
        ],
      },
    ],
    config: {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo default-cmd'],
      Env: ['PATH=/usr/bin:/bin', 'FROM_IMAGE=1', 'OVERRIDE=image'],
      WorkingDir: '/srv',
      User: 'app',
    },
  });
}, 120_000);
afterAll(() => f.teardown(), 60_000);

/** Runs a container to its end; returns its exit code and output. */
async function run(o: Omit<CreateOptions, 'image'> & { image?: string }): Promise<{ code: number; out: string }> {
  const c = await f.engine.create(f.ctx, { image: 'busybox', ...o });
  try {
    await f.engine.start(f.ctx, c.id);
    const { exitCode } = await f.engine.wait(f.ctx, c.id);
    let out = '';
    for await (const e of f.engine.logs(f.ctx, c.id)) out += e.data.toString();
    return { code: exitCode, out };
  } finally {
    await f.engine.remove(f.ctx, c.id, { force: true });
  }
}
const sh = (script: string, o: Omit<CreateOptions, 'image'> = {}) => run({ cmd: ['sh', '-c', script], ...o });

describe('engine: Docker defaults inside the container', () => {
  itRoot("Docker's 14 capabilities, no_new_privs off, masked and read-only /proc paths", async () => {
    const r = await sh(
      'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; cat /proc/interrupts /proc/timer_list /proc/keys | wc -c; echo 1 > /proc/sys/kernel/ostype 2>/dev/null && echo proc-sys-rw || echo proc-sys-ro',
    );
    expect(r.out).toContain('CapEff:\t00000000a80425fb');
    expect(r.out).toContain('CapBnd:\t00000000a80425fb');
    expect(r.out).toContain('NoNewPrivs:\t0');
    expect(r.out).toMatch(/^0$/m); // masked: empty (the host's have content, see --privileged)
    expect(r.out).toContain('proc-sys-ro');
  });

  itRoot('/etc/hostname, /etc/hosts, /etc/resolv.conf are its own; HOSTNAME is the short id', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      cmd: [
        'sh',
        '-c',
        'cat /etc/hostname; hostname; echo $HOSTNAME; grep -c localhost /etc/hosts; grep nameserver /etc/resolv.conf; mount | grep -E " /etc/(hostname|hosts|resolv.conf) "',
      ],
    });
    await f.engine.start(f.ctx, c.id);
    await f.engine.wait(f.ctx, c.id);
    let out = '';
    for await (const e of f.engine.logs(f.ctx, c.id)) out += e.data.toString();
    const short = c.id.slice(0, 12);
    expect(out.split('\n').slice(0, 3)).toEqual([short, short, short]);
    expect(out).not.toMatch(/nameserver 127\./);
    expect(out).toMatch(/nameserver /);
    expect(out.match(/ on \/etc\/(hostname|hosts|resolv\.conf) /g)?.sort()).toEqual([' on /etc/hostname ', ' on /etc/hosts ', ' on /etc/resolv.conf ']);
    expect(c.hostnamePath).toMatch(/\/hostname$/);
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('its own cgroup is at /sys/fs/cgroup, read-only; /dev/shm is 64m; no /run tmpfs', async () => {
    const r = await sh(
      'mount | grep " /sys/fs/cgroup"; touch /sys/fs/cgroup/x 2>/dev/null && echo cg-rw || echo cg-ro; cat /proc/self/cgroup | head -3; df -k /dev/shm | tail -1; mount | grep -c " /run " || true',
      { memory: '64m' },
    );
    expect(r.out).toMatch(/ on \/sys\/fs\/cgroup(\/\S+)? type (tmpfs|cgroup2?) \(ro/);
    expect(r.out).toContain('cg-ro');
    expect(r.out).toMatch(/^\d+:[^:]*:\/$/m); // a cgroup namespace: the container's cgroup is its root
    expect(r.out).toMatch(/shm\s+65536\s/);
    expect(r.out.trim().split('\n').pop()).toBe('0');
  });

  itRoot('--memory, --cpus, --pids-limit reach the cgroup the container sees', async () => {
    const v2 = (await sh('test -e /sys/fs/cgroup/cgroup.controllers && echo v2 || echo v1')).out.trim() === 'v2';
    const script = v2
      ? 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max'
      : 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/pids/pids.max';
    const r = await sh(script, { memory: '96m', cpus: '0.5', pidsLimit: 42 });
    const vals = r.out.trim().split(/\s+/);
    expect(vals).toEqual([String(96 << 20), '50000', '100000', '42']);
  });

  itRoot('--read-only, --cap-drop ALL --cap-add CHOWN, --cap-add ALL, --privileged', async () => {
    expect((await sh('touch /x 2>/dev/null && echo rw || echo ro; touch /tmp/x 2>/dev/null && echo tmp-rw || echo tmp-ro', { readonlyRootfs: true })).out).toBe(
      'ro\ntmp-ro\n',
    );
    expect((await sh('grep CapEff /proc/self/status', { capDrop: ['ALL'], capAdd: ['chown'] })).out).toBe('CapEff:\t0000000000000001\n');
    const all = (await sh('grep CapEff /proc/self/status', { capAdd: ['ALL'], capDrop: ['CAP_NET_RAW'] })).out;
    expect(BigInt(`0x${all.split('\t')[1]!.trim()}`) & (1n << 13n)).toBe(0n);
    expect(BigInt(`0x${all.split('\t')[1]!.trim()}`) & (1n << 21n)).toBe(1n << 21n);
    await expect(f.engine.create(f.ctx, { image: 'busybox', capAdd: ['NOT_A_CAP'] })).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('unknown capability'),
    });
    const p = await sh(
      'grep CapEff /proc/self/status; mount | grep " /sys " | grep -c "(rw"; ls /dev | grep -c -E "^(null|zero|tty|loop0|mem)$"; cat /proc/interrupts | head -c 1 | wc -c',
      { privileged: true },
    );
    const [capLine, sysRw, devs, kcore] = p.out.trim().split('\n');
    expect(BigInt(`0x${capLine!.split('\t')[1]}`) & (1n << 21n)).toBe(1n << 21n);
    expect(sysRw).toBe('1');
    expect(Number(devs)).toBeGreaterThanOrEqual(4);
    expect(kcore).toBe('1'); // not masked
  });

  itRoot('the default network (bridge): lo and eth0 with a default route; --network none: only lo, up; --network host: the host interfaces', async () => {
    const def = (await sh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort; ip route | grep -c ^default')).out;
    expect(def).toBe('eth0\nlo\n1\n');
    expect(
      (await sh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; ping -c 1 -W 1 127.0.0.1 >/dev/null && echo lo-up', { network: 'none' })).out,
    ).toBe('lo\nlo-up\n');
    // The host's namespace itself: a count of its interfaces changes as other work adds veths.
    const host = (await sh('readlink /proc/self/ns/net', { network: 'host' })).out.trim();
    const { readlinkSync } = await import('node:fs');
    expect(host).toBe(readlinkSync('/proc/self/ns/net'));
    await expect(f.engine.create(f.ctx, { image: 'busybox', network: 'nosuchnet' })).rejects.toMatchObject({ kind: 'NotFound' });
    expect((await sh('hostname; cat /etc/hostname; echo $HOSTNAME', { hostname: 'db-1' })).out).toBe('db-1\ndb-1\ndb-1\n');
    await expect(f.engine.create(f.ctx, { image: 'busybox', hostname: 'bad_host!' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });
});

describe('engine: image config merged with the request', () => {
  itRoot('Entrypoint + Cmd, Env merged by key (PATH, HOSTNAME, HOME), WorkingDir, User from /etc/passwd with its groups', async () => {
    const r = await run({
      image: APP,
      cmd: ['echo "$FROM_IMAGE $OVERRIDE $FROM_RUN"; pwd; id; echo "$HOME $PATH"; env | grep -c HOSTNAME'],
      env: ['OVERRIDE=run', 'FROM_RUN=yes'],
    });
    expect(r.out.split('\n')).toEqual(['1 run yes', '/srv', 'uid=1234(app) gid=2345(app) groups=3456(extra)', '/home/app /usr/bin:/bin', '1', '']);
    expect((await run({ image: APP })).out).toBe('default-cmd\n');
  });

  itRoot('--user uid:gid, name:group, numbers not in /etc/passwd; --entrypoint replaces and clears the Cmd; -w', async () => {
    expect((await run({ image: APP, user: '0:4567', cmd: ['id -u; id -g'] })).out).toBe('0\n4567\n');
    expect((await run({ image: APP, user: 'app:extra', cmd: ['id -u; id -g; id -G'] })).out).toBe('1234\n3456\n3456\n');
    expect((await run({ image: APP, user: '4242', cmd: ['id -u; id -g'] })).out).toBe('4242\n0\n');
    await expect(f.engine.create(f.ctx, { image: APP, user: 'app:nogroup' })).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('unable to find group nogroup'),
    });
    expect((await run({ image: APP, entrypoint: ['echo'], cmd: [] })).out).toBe('\n');
    expect((await run({ image: APP, entrypoint: [''], cmd: ['echo', 'no entrypoint'] })).out).toBe('no entrypoint\n');
    await expect(f.engine.create(f.ctx, { image: APP, entrypoint: [''] })).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('no command'),
    });
    expect((await run({ image: APP, workingDir: '/new/dir', cmd: ['pwd'] })).out).toBe('/new/dir\n');
  });
});

describe('engine: --init', () => {
  itRoot('pid 1 is berth-init: zombies are reaped, SIGTERM reaches the command', async () => {
    const script = 'echo $$; tr "\\0" " " < /proc/1/cmdline; echo; (sleep 0.05 &); (sleep 0.05 &); sleep 0.6; ps -o stat,comm | grep -c "^Z" || true';
    expect((await sh(script, { init: true })).out).toBe('2\n/sbin/berth-init -- sh -c ' + script + ' \n0\n');
    const c = await f.engine.create(f.ctx, { image: 'busybox', init: true, cmd: ['sleep', '100'] });
    await f.engine.start(f.ctx, c.id);
    const t0 = Date.now();
    await f.engine.stop(f.ctx, c.id, { timeout: 10 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await f.engine.inspect(f.ctx, c.id)).state.exitCode).toBe(143);
    expect((await f.engine.inspect(f.ctx, c.id)).path).toBe('sleep');
    await f.engine.remove(f.ctx, c.id);
  });
});
