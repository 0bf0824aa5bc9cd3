/**
 * berth-helper with a new user namespace: the rootfs (a plain dir, or an overlay whose dirs sit below
 * a root-only 0700 dir, as the snapshotter's do) is built outside the user namespace and attached
 * inside it; the process is root inside and 100000 on the host.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OciSpec } from '../../src/tasks/spec';

import { itRoot, until, useHarness } from './harness';

const h = useHarness();

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
});
