/** Resource limits (v1 on this host, v2 in test/vm's guest), devices, OOM, pids limit, freezer, stats. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { itRoot, until, useHarness } from './harness';
import { cgroupDir, cgroupBaseDirs } from '../helpers/cleanup';
import { removeEmptyCgroupParents } from '../../src/tasks/cgroup';

const h = useHarness();
const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

const read = (ctrl: string, rel: string, file: string) => readFileSync(join(cgroupDir(ctrl, rel), file), 'utf8').trim();

/** major:minor of a whole block device of this machine (the VM has a scratch disk for this). */
function blockDevice(): [number, number] {
  const dev = readdirSync('/sys/block')
    .filter((d) => !/^(loop|ram|zram)/.test(d))
    .map((d) => readFileSync(`/sys/block/${d}/dev`, 'utf8').trim())[0];
  if (!dev) throw new Error('no block device to throttle');
  const [major, minor] = dev.split(':').map(Number);
  return [major!, minor!];
}

describe('berth-helper cgroups', () => {
  itRoot('memory, cpu and pids limits are written below our own cgroup', async () => {
    const r = await h.run('limits', ['sleep', '60'], {
      tweak: (s) => {
        s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 << 20, reservation: 32 << 20 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' }, pids: { limit: 50 } };
      },
    });
    const rel = r.plan.cgroupPath!;
    expect(rel).toBe(`berth/test/${r.id}`);
    if (v2) {
      expect(read('memory', rel, 'memory.max')).toBe(String(64 << 20));
      expect(read('memory', rel, 'memory.low')).toBe(String(32 << 20));
      expect(read('cpu', rel, 'cpu.max')).toBe('50000 100000');
      expect(read('cpu', rel, 'cpu.weight')).toBe('20'); // shares 512, converted as runc and crun do
      expect(read('cpuset', rel, 'cpuset.cpus')).toBe('0');
      expect(read('pids', rel, 'pids.max')).toBe('50');
      expect(read('memory', rel, 'cgroup.procs')).toBe(String(r.pid));
      // Nested below the base beside the daemon's leaf, never in a cgroup that holds processes.
      expect(read('memory', rel, '../cgroup.subtree_control')).toMatch(/cpuset cpu io memory pids/);
    } else {
      expect(read('memory', rel, 'memory.limit_in_bytes')).toBe(String(64 << 20));
      expect(read('memory', rel, 'memory.soft_limit_in_bytes')).toBe(String(32 << 20));
      expect(read('cpu', rel, 'cpu.shares')).toBe('512');
      expect(read('cpu', rel, 'cpu.cfs_quota_us')).toBe('50000');
      expect(read('cpuset', rel, 'cpuset.cpus')).toBe('0');
      expect(read('pids', rel, 'pids.max')).toBe('50');
      expect(read('devices', rel, 'devices.list')).toContain('c 1:3 rwm');
      expect(read('memory', rel, 'cgroup.procs')).toBe(String(r.pid));
    }
    const stats = await r.monitor.stats();
    expect(stats.pidsCurrent).toBe(1);
    expect(stats.memoryLimit).toBe(64 << 20);
    await r.monitor.kill('SIGKILL');
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('swap, cpuset mems and block io throttles (v2: memory.swap.max, io.max, io.weight)', async () => {
    const [major, minor] = blockDevice();
    const r = await h.run('io', ['sleep', '60'], {
      tweak: (s) => {
        s.linux!.resources = {
          ...s.linux!.resources,
          memory: { limit: 64 << 20, swap: 96 << 20 },
          cpu: { cpus: '0', mems: '0' },
          blockIO: {
            // v1 has blkio weights only with the BFQ scheduler; this host's disks run without.
            weight: v2 ? 500 : undefined,
            throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }],
            throttleWriteIOPSDevice: [{ major, minor, rate: 100 }],
          },
        };
      },
    });
    const rel = r.plan.cgroupPath!;
    if (v2) {
      expect(read('memory', rel, 'memory.swap.max')).toBe(String(32 << 20)); // OCI swap is memory+swap
      expect(read('cpuset', rel, 'cpuset.mems')).toBe('0');
      expect(read('io', rel, 'io.max')).toBe(`${major}:${minor} rbps=${1 << 20} wbps=max riops=max wiops=100`);
      expect(read('io', rel, 'io.weight')).toBe('default 4950'); // blkio 10-1000 → io 1-10000
    } else {
      expect(read('memory', rel, 'memory.memsw.limit_in_bytes')).toBe(String(96 << 20));
      expect(read('cpuset', rel, 'cpuset.mems')).toBe('0');
      expect(read('blkio', rel, 'blkio.throttle.read_bps_device')).toBe(`${major}:${minor} ${1 << 20}`);
      expect(read('blkio', rel, 'blkio.throttle.write_iops_device')).toBe(`${major}:${minor} 100`);
    }
    await r.monitor.kill('SIGKILL');
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('device rules are enforced (v1 devices.allow/deny, v2 an eBPF program): last matching rule wins', async () => {
    const script = [
      'echo x > /dev/null && echo null-w-ok',
      '(echo x > /dev/zero) 2>&1',
      'head -c 3 /dev/zero | wc -c',
      'mknod /tmp/kmsg c 1 11 && echo mknod-ok',
      'cat /tmp/kmsg 2>&1 | head -c 200',
      'mknod /tmp/zero c 1 5 && head -c 2 /tmp/zero | wc -c',
    ].join('; ');
    const r = await h.run('devices', ['sh', '-c', script], {
      tweak: (s) => {
        // The default rules (deny all, allow the usual nodes), then mknod of any char device (as
        // Docker allows) and no writes to /dev/zero.
        s.linux!.resources!.devices = [
          ...s.linux!.resources!.devices!,
          { allow: true, type: 'c', major: null, minor: null, access: 'm' },
          { allow: false, type: 'c', major: 1, minor: 5, access: 'w' },
        ];
      },
    });
    const { status, out } = await r.finish();
    expect(status).toBe(0);
    expect(out.split('\n')).toEqual([
      'null-w-ok',
      "sh: can't create /dev/zero: Operation not permitted",
      '3',
      'mknod-ok',
      "cat: can't open '/tmp/kmsg': Operation not permitted",
      '2',
      '',
    ]);
  });

  itRoot('an over-limit allocation is OOM-killed: 137 with an OOM event', async () => {
    const r = await h.run('oom', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], {
      tweak: (s) => {
        s.linux!.resources = { ...s.linux!.resources, memory: { limit: 16 << 20 } };
      },
    });
    expect(await r.finish()).toMatchObject({ status: 137, oom: true });
  });

  itRoot('a fork bomb stops at the pids limit', async () => {
    const r = await h.run('forkbomb', ['sh', '-c', 'sh -c "i=0; while [ \\$i -lt 40 ]; do sleep 60 & i=\\$((i+1)); done" 2>/dev/null; echo bomb-stopped; exec sleep 60'], {
      tweak: (s) => {
        s.linux!.resources = { ...s.linux!.resources, pids: { limit: 10 } };
      },
    });
    // The inner shell forks until the kernel refuses (pids.events counts refusals), then gives up.
    await until('the bomb to stop', async () => (await r.output()).includes('bomb-stopped'));
    expect(Number(read('pids', r.plan.cgroupPath!, 'pids.events').split(' ')[1])).toBeGreaterThan(0);
    const stats = await r.monitor.stats();
    expect(stats.pidsLimit).toBe(10);
    expect(stats.pidsCurrent).toBeLessThanOrEqual(10);
    expect(stats.pidsCurrent).toBeGreaterThanOrEqual(8);
    await r.monitor.kill('SIGKILL', { all: true });
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('pause freezes and resume thaws', async () => {
    const r = await h.run('pause', ['sh', '-c', 'while true; do echo x; sleep 0.02; done']);
    await until('output', async () => (await r.output()).length > 0);
    await r.monitor.pause();
    expect((await r.monitor.state()).status).toBe('paused');
    if (v2) expect(read('freezer', r.plan.cgroupPath!, 'cgroup.events')).toMatch(/^frozen 1$/m);
    else expect(read('freezer', r.plan.cgroupPath!, 'freezer.state')).toBe('FROZEN');
    const size = statSync(r.outPath).size;
    await new Promise((res) => setTimeout(res, 200));
    expect(statSync(r.outPath).size).toBe(size); // frozen: no progress at all
    await r.monitor.resume();
    expect((await r.monitor.state()).status).toBe('running');
    await until('progress after resume', () => statSync(r.outPath).size > size);
    await r.monitor.pause();
    await r.monitor.kill('SIGKILL'); // killing a paused container works (thawed for delivery)
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('cgroupKeep leaves the first parents for berthd, which removes them once empty', async () => {
    const parent = `${h.prefix}-keep`;
    const r = await h.run('keep', ['true'], { tweak: (s) => void (s.linux!.cgroupsPath = `/${parent}/x`), extra: { cgroupKeep: 2 } });
    expect(r.plan.cgroupPath).toBe(`berth/${parent}/x`);
    expect((await r.finish()).status).toBe(0);
    const dirs = (rel: string) => cgroupBaseDirs().map((d) => join(d, rel));
    await until('the container cgroup removed', () => dirs(`berth/${parent}/x`).every((d) => !existsSync(d)));
    expect(dirs(`berth/${parent}`).filter((d) => existsSync(d))).toEqual(dirs(`berth/${parent}`));
    removeEmptyCgroupParents('berth');
    expect(dirs(`berth/${parent}`).filter((d) => existsSync(d))).toEqual([]);
  });
});
