/** Resource limits (v1 here, v2 where mounted), OOM, pids limit, freezer, stats. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { itRoot, until, useHarness } from './harness';
import { cgroupDir, ownCgroupDirs } from '../helpers/cleanup';
import { removeEmptyCgroupParents } from '../../src/tasks/cgroup';

const h = useHarness();
const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

const read = (ctrl: string, rel: string, file: string) => readFileSync(join(cgroupDir(ctrl, rel), file), 'utf8').trim();

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
      expect(read('cpu', rel, 'cpu.max')).toBe('50000 100000');
      expect(read('pids', rel, 'pids.max')).toBe('50');
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
    if (!v2) expect(Number(read('pids', r.plan.cgroupPath!, 'pids.events').split(' ')[1])).toBeGreaterThan(0);
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
    if (!v2) expect(read('freezer', r.plan.cgroupPath!, 'freezer.state')).toBe('FROZEN');
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
    const dirs = (rel: string) => ownCgroupDirs().map((d) => join(d, rel));
    await until('the container cgroup removed', () => dirs(`berth/${parent}/x`).every((d) => !existsSync(d)));
    expect(dirs(`berth/${parent}`).filter((d) => existsSync(d))).toEqual(dirs(`berth/${parent}`));
    removeEmptyCgroupParents('berth');
    expect(dirs(`berth/${parent}`).filter((d) => existsSync(d))).toEqual([]);
  });
});
