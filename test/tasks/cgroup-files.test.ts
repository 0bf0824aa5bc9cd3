/**
 * The Node side of cgroups against fake cgroup dirs (plain files, no root): v2 metrics from
 * memory.stat/memory.events/io.stat, Tasks/Update's v2 writes, the base below which berth nests,
 * and userns-remap's subordinate id ranges. The real kernel checks are test/native and test/vm.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuWeight, swapMaxV2, updateResources } from '../../src/tasks/cgroup';
import { parseProcCgroup, v2Base } from '../../src/tasks/cgroup-base';
import { cgroupMetrics } from '../../src/tasks/metrics';
import { resolveUsernsRemap, wantsRemap } from '../../src/tasks/userns-remap';
import { defaultSpec } from '../../src/tasks/spec';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cgfiles-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const files = (f: Record<string, string>) => Promise.all(Object.entries(f).map(([k, v]) => writeFile(join(dir, k), v)));

describe('cgroup v2 metrics (io.containerd.cgroups.v2.Metrics)', () => {
  it('maps memory.stat, memory.events, io.stat, cpu.stat and pids; "max" is 0; split workingset keys add up', async () => {
    await files({
      'pids.current': '3\n',
      'pids.max': 'max\n',
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 77\n',
      'memory.current': '1048576\n',
      'memory.max': '67108864\n',
      'memory.swap.current': '0\n',
      'memory.swap.max': 'max\n',
      'memory.stat':
        'anon 4096\nfile 8192\nkernel_stack 16384\npgfault 12\nworkingset_refault_anon 2\nworkingset_refault_file 3\nworkingset_activate_anon 1\nworkingset_activate_file 0\n',
      'memory.events': 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n',
      'io.stat': '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n7:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n',
    });
    const m = await cgroupMetrics('c1', new Map([['', dir]]));
    expect(m.typeName).toBe('io.containerd.cgroups.v2.Metrics');
    expect(m.data).toMatchObject({
      pids: { current: '3', limit: '0' },
      cpu: { usage_usec: '1500', user_usec: '1000', system_usec: '500', nr_periods: '4', nr_throttled: '1', throttled_usec: '77' },
      memory: {
        anon: '4096',
        file: '8192',
        kernel_stack: '16384',
        pgfault: '12',
        workingset_refault: '5',
        workingset_activate: '1',
        usage: '1048576',
        usage_limit: '67108864',
        swap_limit: '0',
        slab: '0',
      },
      memory_events: { low: '0', high: '0', max: '5', oom: '1', oom_kill: '1' },
      io: {
        usage: [
          { major: '254', minor: '0', rbytes: '4096', wbytes: '8192', rios: '1', wios: '2' },
          { major: '7', minor: '0', rbytes: '0', wbytes: '0', rios: '0', wios: '0' },
        ],
      },
    });
  });
});

describe('Tasks/Update on cgroup v2', () => {
  const read = async (f: string) => (await readFile(join(dir, f), 'utf8')).trim();

  it('writes memory.max/low/swap.max, cpu.weight, cpu.max (keeping the half not given), cpuset and pids', async () => {
    await files({ 'cpu.max': '50000 100000\n', 'memory.max': 'max\n' });
    await updateResources(
      new Map([['', dir]]),
      { memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 }, cpu: { shares: 512, period: 200000, cpus: '0', mems: '0' }, pids: { limit: 0 } },
      'task t',
    );
    expect(await read('memory.max')).toBe(String(64 << 20));
    expect(await read('memory.low')).toBe(String(32 << 20));
    expect(await read('memory.swap.max')).toBe(String(32 << 20));
    expect(await read('cpu.weight')).toBe('20');
    expect(await read('cpu.max')).toBe('50000 200000');
    expect([await read('cpuset.cpus'), await read('cpuset.mems'), await read('pids.max')]).toEqual(['0', '0', 'max']);
    await updateResources(new Map([['', dir]]), { cpu: { quota: -1 } }, 'task t');
    expect(await read('cpu.max')).toBe('max 200000');
  });

  it('swap needs a memory limit no larger than it (OCI swap is memory+swap); -1 is unlimited', async () => {
    expect(swapMaxV2(-1, undefined)).toBe('max');
    expect(swapMaxV2(100, 60)).toBe(40);
    expect(() => swapMaxV2(100, undefined)).toThrow(/needs a memory limit/);
    expect(() => swapMaxV2(50, 60)).toThrow(/below memory.limit/);
    await files({ 'memory.max': 'max\n' });
    await expect(updateResources(new Map([['', dir]]), { memory: { swap: 1 << 30 } }, 'task t')).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('cpu.shares → cpu.weight as runc and crun convert it', () => {
    expect([cpuWeight(2), cpuWeight(1024), cpuWeight(262144)]).toEqual([1, 39, 10000]);
  });
});

describe('the cgroup base', () => {
  it('on v2 is the own cgroup, or the parent of the daemon leaf `berthd`', () => {
    expect([v2Base('/'), v2Base('/system.slice/berthd.service'), v2Base('/system.slice/berthd.service/berthd')]).toEqual([
      '/',
      '/system.slice/berthd.service',
      '/system.slice/berthd.service',
    ]);
  });

  it('/proc/<pid>/cgroup: the v2 entry and the v1 controllers (named hierarchies left out)', () => {
    const p = parseProcCgroup('12:cpu,cpuacct:/a\n1:name=systemd:/x\n0::/b\n');
    expect(p.unified).toBe('/b');
    expect([...p.v1]).toEqual([
      ['cpu', '/a'],
      ['cpuacct', '/a'],
    ]);
  });
});

describe('userns-remap', () => {
  it("maps container ids onto the user's ranges in file order; the group's from subgid", async () => {
    await files({ subuid: 'other:100000:65536\nremap:200000:65536\nremap:300000:10\n', subgid: 'remapg:400000:65536\n' });
    expect(resolveUsernsRemap('remap:remapg', { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') })).toEqual({
      uidMappings: [
        { containerID: 0, hostID: 200000, size: 65536 },
        { containerID: 65536, hostID: 300000, size: 10 },
      ],
      gidMappings: [{ containerID: 0, hostID: 400000, size: 65536 }],
    });
  });

  it('refuses a user without ranges, a range onto host root, a bad spec', async () => {
    await files({ subuid: 'remap:0:65536\n', subgid: '' });
    const f = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
    expect(() => resolveUsernsRemap('nobody-here', f)).toThrow(/has no range for user nobody-here/);
    expect(() => resolveUsernsRemap('remap', f)).toThrow(/onto host id 0/);
    expect(() => resolveUsernsRemap(':x', f)).toThrow(/expected USER or USER:GROUP/);
  });

  it("remaps containers with their own network, pid and mount namespaces only (not the host's network by path)", () => {
    const s = () => defaultSpec({ id: 'x', args: ['true'] });
    expect(wantsRemap(s())).toBe(true);
    const hostNet = s();
    hostNet.linux!.namespaces = hostNet.linux!.namespaces!.filter((n) => n.type !== 'network');
    const joined = s();
    joined.linux!.namespaces!.find((n) => n.type === 'network')!.path = '/proc/1/ns/net';
    const hostByPath = s();
    hostByPath.linux!.namespaces!.find((n) => n.type === 'network')!.path = '/proc/self/ns/net';
    const own = s();
    own.linux!.namespaces!.push({ type: 'user' });
    expect([wantsRemap(hostNet), wantsRemap(joined), wantsRemap(hostByPath), wantsRemap(own)]).toEqual([false, false, false, false]);
    // A pinned network namespace of the container's own (the engine's) is remapped: test/engine/userns-remap.test.ts.
  });
});
