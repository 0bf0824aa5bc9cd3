/**
 * `ctr run --uidmap/--gidmap`: a user namespace container. ctr remaps the snapshot itself
 * (WithRemappedSnapshot chowns a copy to 100000+) and puts the user namespace with its maps in the
 * spec; berthd must mount the overlay rootfs where that is permitted (outside the user namespace)
 * and still confine the process as usual.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { CTR_ROOT, CtrFixture, IMG, NO_LEAKS } from '../tasks/ctr-fixture';
import { itWith, requireHostUserns } from '../helpers/requires';
import { slow } from '../helpers/slow';

const f = new CtrFixture('userns');
beforeAll(() => f.setup(), slow(120_000));
afterAll(() => f.teardown(), slow(60_000));

const MAPS = ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536'];
const itUserns = itWith(...CTR_ROOT, requireHostUserns());

function statusField(pid: number, field: string): string[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line!.split(/\s+/).slice(1);
}

async function taskPid(id: string): Promise<number> {
  const line = (await f.ctr(['task', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `));
  return Number(line!.trim().split(/\s+/)[1]);
}

describe('ctr run --uidmap/--gidmap', () => {
  itUserns('runs as root inside, 100000 on the host, over a rootfs owned by root inside', async () => {
    const ids = [
      'id -u; id -g',
      'cat /proc/self/uid_map | tr -s " " | sed "s/^ //"',
      'cat /proc/self/gid_map | tr -s " " | sed "s/^ //"',
      'stat -c "%u:%g" /bin/busybox /etc /',
      'touch /newfile && stat -c "%u:%g" /newfile',
    ].join('; ');
    const r = await f.ctr(['run', '--rm', ...MAPS, IMG, 'userns-rm', 'sh', '-c', ids]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual(['0', '0', '0 100000 65536', '0 100000 65536', '0:0', '0:0', '0:0', '0:0', '']);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itUserns('keeps the confinement of a plain container: caps, no_new_privs, masked and read-only paths, devices', async () => {
    const probe = [
      'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t" " "',
      'cat /proc/kcore >/dev/null 2>&1 && echo kcore-readable || echo kcore-masked',
      'ls /proc/acpi 2>/dev/null | wc -l',
      '(echo 1 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null && echo proc-sys-writable || echo proc-sys-readonly',
      '(echo 1 > /proc/sysrq-trigger) 2>/dev/null && echo sysrq-writable || echo sysrq-readonly',
      'ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/pts /dev/shm /dev/mqueue >/dev/null && echo devices-ok',
      'head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-writable',
      'mount -t tmpfs t /mnt 2>/dev/null && echo mount-ok || echo mount-denied',
      'ls /sys/fs/cgroup | tr "\\n" " "; echo; ls /sys/class/net | tr "\\n" " "; echo',
      '(touch /sys/fs/cgroup/memory/x) 2>/dev/null && echo cgroup-writable || echo cgroup-readonly',
      'cat /proc/1/cmdline | tr "\\0" " "; echo',
    ].join('; ');
    const plain = await f.ctr(['run', '--rm', IMG, 'plain-probe', 'sh', '-c', probe]);
    const remapped = await f.ctr(['run', '--rm', ...MAPS, IMG, 'userns-probe', 'sh', '-c', probe]);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    expect(remapped).toMatchObject({ code: 0, stderr: '' });
    expect(plain.stdout).toContain('kcore-masked');
    expect(plain.stdout).toContain('mount-denied');
    expect(plain.stdout).toContain('memory');
    expect(remapped.stdout).toBe(plain.stdout);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itUserns('--net-host: /sys comes from the host (sysfs needs a network namespace the user namespace owns)', async () => {
    const probe = 'ls /sys/class/net | sort | tr "\\n" " "; echo; awk \'$5 == "/sys" { print $6 }\' /proc/self/mountinfo';
    const r = await f.ctr(['run', '--rm', '--net-host', ...MAPS, IMG, 'userns-nethost', 'sh', '-c', probe]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [nets, sysOpts] = r.stdout.split('\n');
    expect(nets).toBe(`${readdirSync('/sys/class/net').sort().join(' ')} `);
    expect(sysOpts.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itUserns('--read-only: the remapped rootfs view cannot be written', async () => {
    const r = await f.ctr([
      'run',
      '--rm',
      '--read-only',
      ...MAPS,
      IMG,
      'userns-ro',
      'sh',
      '-c',
      'id -u; (touch /x) 2>/dev/null && echo rw || echo ro; stat -c %u /bin/busybox',
    ]);
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: '0\nro\n0\n' });
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itUserns('-t: a terminal works in the user namespace', async () => {
    const r = await f.ctrTty(['run', '--rm', '-t', ...MAPS, IMG, 'userns-tty', 'sh', '-c', 'tty; id -u; exit 4']);
    expect(r.stdout).toContain('/dev/pts/0');
    expect(r.code).toBe(4);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itUserns('-d, then task exec and kill: the process is 100000 seen from the host', async () => {
    const id = 'userns-d';
    expect((await f.ctr(['run', '-d', ...MAPS, IMG, id, 'sleep', '1000'])).code).toBe(0);
    try {
      const pid = await taskPid(id);
      expect(statusField(pid, 'Uid')).toEqual(['100000', '100000', '100000', '100000']);
      expect(statusField(pid, 'Gid')).toEqual(['100000', '100000', '100000', '100000']);
      expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
      const e = await f.ctr([
        'task',
        'exec',
        '--exec-id',
        'ex1',
        id,
        'sh',
        '-c',
        'id -u; cat /proc/self/uid_map | tr -s " " | sed "s/^ //"; stat -c %u /bin/busybox',
      ]);
      expect(e).toMatchObject({ code: 0, stdout: '0\n0 100000 65536\n0\n' });
      const t = await f.ctrTty(['task', 'exec', '-t', '--exec-id', 'ex2', id, 'sh', '-c', 'tty; id -u; exit 6']);
      expect(t.stdout).toMatch(/\/dev\/pts\/\d+\r*\n0\r*\n/);
      expect(t.code).toBe(6);
      expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
      for (let i = 0; i < 100 && (await f.ctr(['task', 'ls'])).stdout.includes('RUNNING'); i++) await new Promise((r) => setTimeout(r, 50));
      expect((await f.ctr(['task', 'ls'])).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    } finally {
      await f.ctr(['task', 'rm', '-f', id]);
      await f.ctr(['containers', 'rm', id]);
    }
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });
});
