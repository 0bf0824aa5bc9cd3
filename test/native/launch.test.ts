/** berth-helper launches a Docker-default container over a busybox rootfs (real kernel, root). */
import { readdirSync, readlinkSync } from 'node:fs';
import { itRoot, useHarness } from './harness';
import { createProcess } from '../../src/tasks/helper';

const h = useHarness();

const statusField = (out: string, key: string) => out.split('\n').find((l) => l.startsWith(`${key}:`))?.split(/\s+/)[1];

describe('berth-helper launch', () => {
  itRoot('exit codes come back, runs as pid 1', async () => {
    const r = await h.run('exit', ['sh', '-c', 'echo $$; exit 3']);
    expect(await r.finish()).toEqual({ status: 3, out: '1\n', oom: false });
  });

  itRoot('every namespace is fresh', async () => {
    const r = await h.run('ns', ['sleep', '60']);
    for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'])
      expect(readlinkSync(`/proc/${r.pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    expect(readlinkSync(`/proc/${r.pid}/ns/user`)).toBe(readlinkSync('/proc/self/ns/user'));
    // Only fds 0-2 reach the container process (CVE-2024-21626).
    expect(readdirSync(`/proc/${r.pid}/fd`).sort()).toEqual(['0', '1', '2']);
    await r.monitor.kill('SIGKILL');
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('Docker default capabilities, no_new_privs, cwd, env, user', async () => {
    const r = await h.run('caps', ['sh', '-c', 'grep -E "^(Cap|NoNewPrivs)" /proc/self/status; pwd; echo $FOO; id -u'], {
      tweak: (s) => {
        s.process!.cwd = '/tmp';
        s.process!.env!.push('FOO=bar');
      },
    });
    const { status, out } = await r.finish();
    expect(status).toBe(0);
    expect(statusField(out, 'CapEff')).toBe('00000000a80425fb');
    expect(statusField(out, 'CapPrm')).toBe('00000000a80425fb');
    expect(statusField(out, 'CapBnd')).toBe('00000000a80425fb');
    expect(statusField(out, 'CapAmb')).toBe('0000000000000000');
    expect(statusField(out, 'NoNewPrivs')).toBe('1');
    expect(out).toContain('/tmp\nbar\n0\n');
  });

  itRoot('non-root user with additional groups', async () => {
    const r = await h.run('user', ['sh', '-c', 'id -u; id -g; id -G; grep CapEff /proc/self/status'], {
      tweak: (s) => {
        s.process!.user = { uid: 65534, gid: 65534, additionalGids: [5] };
      },
    });
    const { status, out } = await r.finish();
    expect(status).toBe(0);
    const lines = out.split('\n');
    expect(lines.slice(0, 3)).toEqual(['65534', '65534', '65534 5']);
    expect(statusField(out, 'CapEff')).toBe('0000000000000000');
  });

  itRoot('masked and read-only paths, minimal /dev, hostname', async () => {
    const script = [
      // This kernel has no /proc/kcore (CONFIG_PROC_KCORE off); the other masked files stand in for it.
      'cat /proc/kcore /proc/keys /proc/timer_list 2>/dev/null | wc -c',
      '(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo sys-writable || echo sys-readonly',
      'ls /dev | tr "\\n" " "; echo',
      'hostname',
      'ls /sys/firmware | wc -l',
      'echo ok > /dev/null && head -c 4 /dev/zero | wc -c',
    ].join('; ');
    const r = await h.run('paths', ['sh', '-c', script], { tweak: (s) => (s.hostname = 'box1') });
    const { status, out } = await r.finish();
    expect(status).toBe(0);
    const lines = out.split('\n');
    expect(lines[0].trim()).toBe('0');
    expect(lines[1]).toBe('sys-readonly');
    expect(lines[2].trim().split(' ').sort()).toEqual(
      ['core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].sort(),
    );
    expect(lines[3]).toBe('box1');
    expect(lines[4].trim()).toBe('0');
    expect(lines[5].trim()).toBe('4');
  });

  itRoot('signals: SIGKILL gives 137, a signalled child 128+n', async () => {
    const r = await h.run('sig', ['sleep', '60']);
    expect((await r.monitor.state()).status).toBe('running');
    await r.monitor.kill('SIGKILL');
    const exit = await r.monitor.wait();
    expect(exit.exitStatus).toBe(137);
    expect(exit.pid).toBe(r.pid);
    expect((await r.monitor.state()).status).toBe('stopped');
    await r.remove();
    const t = await h.run('term', ['sh', '-c', 'sh -c "kill -TERM \\$\\$"; echo $?']);
    expect((await t.finish()).out.trim().split('\n').pop()).toBe('143');
  });

  itRoot('a cwd that is no directory is reported by start, stage cwd (checked while the process waits for start)', async () => {
    const id = h.nextId('badcwd');
    const created = await createProcess(h.plan(id, h.spec(id, ['true'], (s) => void (s.process!.cwd = '/etc/passwd'))));
    await expect(created.start()).rejects.toMatchObject({ message: expect.stringMatching(/cwd: chdir `\/etc\/passwd`/) });
    await h.teardownLeftovers();
  });

  itRoot('exec failure reports stage exec with ENOENT', async () => {
    await expect(h.run('noexec', ['/bin/does-not-exist'])).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringContaining('exec') });
    await h.teardownLeftovers();
  });
});
