/**
 * berth-helper with a new user namespace: the rootfs (a plain dir, or an overlay whose dirs sit below
 * a root-only 0700 dir, as the snapshotter's do) is built outside the user namespace and attached
 * inside it; the process is root inside and 100000 on the host.
 */
import { chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OciSpec } from '../../src/tasks/spec';

import { itRoot, until, useHarness } from './harness';
import { cgroupDir } from '../helpers/cleanup';

const h = useHarness();
const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const hostUid = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!.split(/\s+/).slice(1);

const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];
const userns = (s: OciSpec) => {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = MAP;
  s.linux!.gidMappings = MAP;
};

describe('berth-helper with a user namespace', () => {
  itRoot('a plain rootfs dir: root inside, 100000 outside, host-owned files show as the overflow id', async () => {
    const r = await h.run('userns-dir', ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map; stat -c %u /bin/busybox; sleep 60'], { tweak: userns });
    await until('process in its namespace', async () => ((await r.output()).split('\n').length >= 5 ? true : undefined));
    const uid = readFileSync(`/proc/${r.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!;
    expect(uid.split(/\s+/).slice(1)).toEqual(['100000', '100000', '100000', '100000']);
    await r.monitor.kill('SIGKILL');
    const { status, out } = await r.finish();
    expect(status).toBe(137);
    const [u, g, map, owner] = out.split('\n');
    expect([u, g, map.trim().split(/\s+/).join(' '), owner]).toEqual(['0', '0', '0 100000 65536', '65534']);
  });

  itRoot('an overlay rootfs below a 0700 dir: writes land in the upper dir, owned by 100000 on the host (the lower dir belongs to the host root: only /tmp is writable)', async () => {
    const private0700 = await mkdtemp(join(tmpdir(), 'berth-userns-ovl-'));
    try {
      const upper = join(private0700, 'upper');
      const work = join(private0700, 'work');
      await mkdir(upper);
      await mkdir(work);
      const r = await h.run('userns-ovl', ['sh', '-c', 'echo hi > /tmp/written && stat -c %u:%g /tmp/written'], {
        tweak: userns,
        extra: { rootfsMounts: [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${h.rootfs.rootfs}`, `upperdir=${upper}`, `workdir=${work}`] }] },
      });
      expect(await r.finish()).toEqual({ status: 0, out: '0:0\n', oom: false });
      const st = await stat(join(upper, 'tmp/written'));
      expect([st.uid, st.gid]).toEqual([100000, 100000]);
      await expect(stat(join(h.rootfs.rootfs, 'tmp/written'))).rejects.toThrow();
    } finally {
      await rm(private0700, { recursive: true, force: true });
    }
  });

  itRoot('a read-only bind rootfs stays read-only', async () => {
    const r = await h.run('userns-ro', ['sh', '-c', '(touch /x) 2>/dev/null && echo rw || echo ro'], {
      tweak: userns,
      extra: { rootfsMounts: [{ type: 'bind', source: h.rootfs.rootfs, options: ['rbind', 'ro'] }] },
    });
    expect(await r.finish()).toEqual({ status: 0, out: 'ro\n', oom: false });
  });

  itRoot('an idmapped rootfs (userns-remap): files owned by 0 on disk show as 0 inside, writes land as 0 on disk', async () => {
    const owned = `${h.rootfs.rootfs}/etc/owned-by-1000`;
    await writeFile(owned, 'x\n');
    await chown(owned, 1000, 1000);
    try {
      const r = await h.run('userns-idmap', ['sh', '-c', 'stat -c "%u:%g %n" /bin/busybox /etc/owned-by-1000; echo w > /tmp/idmapped-write && echo written; sleep 60'], {
        tweak: userns,
        extra: { rootfsIdmap: true },
      });
      // The kill comes only after the write: a line printed before it does not mean the file is there.
      await until('output', async () => ((await r.output()).includes('written\n') ? true : undefined));
      expect(hostUid(r.pid)).toEqual(['100000', '100000', '100000', '100000']);
      await r.monitor.kill('SIGKILL');
      const { out } = await r.finish();
      expect(out).toBe('0:0 /bin/busybox\n1000:1000 /etc/owned-by-1000\nwritten\n');
      const st = statSync(`${h.rootfs.rootfs}/tmp/idmapped-write`);
      expect([st.uid, st.gid]).toEqual([0, 0]);
    } finally {
      await rm(owned, { force: true });
      await rm(`${h.rootfs.rootfs}/tmp/idmapped-write`, { force: true });
    }
  });

  itRoot('an idmapped overlay rootfs: every lower layer mapped; the upper dir is the container root\'s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-userns-idmap-'));
    try {
      const layer2 = join(dir, 'layer2');
      await mkdir(join(layer2, 'home'), { recursive: true });
      await writeFile(join(layer2, 'home/u'), 'u\n');
      await chown(join(layer2, 'home/u'), 1000, 1000);
      await mkdir(join(dir, 'snap/fs'), { recursive: true });
      await mkdir(join(dir, 'snap/work'));
      const r = await h.run('userns-idmap-ovl', ['sh', '-c', 'stat -c "%u:%g %n" /bin/busybox /home/u; echo hi > /home/new; stat -c "%u:%g %n" /home/new'], {
        tweak: userns,
        extra: {
          rootfsIdmap: true,
          rootfsMounts: [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${layer2}:${h.rootfs.rootfs}`, `upperdir=${dir}/snap/fs`, `workdir=${dir}/snap/work`] }],
        },
      });
      expect(await r.finish()).toEqual({ status: 0, out: '0:0 /bin/busybox\n1000:1000 /home/u\n0:0 /home/new\n', oom: false });
      const st = statSync(join(dir, 'snap/fs/home/new'));
      expect([st.uid, st.gid]).toEqual([100000, 100000]);
      expect(statSync(join(layer2, 'home/u')).uid).toBe(1000); // the layer itself is untouched
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  itRoot('the container owns its cgroup (with a cgroup namespace): it makes a sub-cgroup, limits it and moves into it', async () => {
    // v2: the init first leaves the container's cgroup for a leaf, so that the cgroup may hand
    // controllers to children (the no-internal-processes rule), as systemd does inside.
    const script = v2
      ? 'cd /sys/fs/cgroup; mkdir init; echo $$ > init/cgroup.procs; echo +pids > cgroup.subtree_control; mkdir sub; echo 7 > sub/pids.max; echo $$ > sub/cgroup.procs; cat /proc/self/cgroup'
      : 'cd /sys/fs/cgroup/pids; mkdir sub; echo 7 > sub/pids.max; echo $$ > sub/cgroup.procs; grep :pids: /proc/self/cgroup';
    const r = await h.run('userns-cgroup', ['sh', '-c', `${script}; cat sub/pids.max; (echo 1 > pids.max) 2>&1; echo done; exec sleep 60`], {
      tweak: (s) => {
        userns(s);
        s.linux!.resources = { ...s.linux!.resources, pids: { limit: 50 } };
        const m = s.mounts!.find((x) => x.destination === '/sys/fs/cgroup')!;
        m.options = m.options!.filter((o) => o !== 'ro').concat('rw');
      },
    });
    await until('output', async () => ((await r.output()).includes('done\n') ? true : undefined));
    const rel = r.plan.cgroupPath!;
    const dir = cgroupDir('pids', rel);
    expect(statSync(dir).uid).toBe(100000);
    expect(readFileSync(join(dir, 'sub/pids.max'), 'utf8').trim()).toBe('7');
    expect(readFileSync(join(dir, 'pids.max'), 'utf8').trim()).toBe('50'); // its own limit stays ours
    await r.monitor.kill('SIGKILL', { all: true });
    const { status, out } = await r.finish();
    expect(status).toBe(137);
    const [cg, max, refused, done] = out.split('\n');
    expect(cg).toMatch(v2 ? /^0::\/sub$/ : /^\d+:pids:\/sub$/);
    expect(max).toBe('7');
    expect(refused).toMatch(/can't create pids\.max: Permission denied/);
    expect(done).toBe('done');
  });
});
