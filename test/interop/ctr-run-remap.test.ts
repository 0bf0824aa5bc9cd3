/**
 * berthd --userns-remap (Docker's option): every container gets a user namespace mapping its ids
 * onto the user's subordinate ids, so its root is an unprivileged id on the host, while the image's
 * files keep their owners inside (idmapped lower layers; the layers on disk stay as unpacked).
 * The subordinate id files are the test's own (berthd's subidFiles), not the machine's.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS } from '../tasks/ctr-fixture';
import { busyboxEntries } from '../helpers/images';
import { DaemonProcess, testDirs } from '../helpers/daemon';
import { cgroupBaseDirs } from '../helpers/cleanup';
import { slow } from '../helpers/slow';

const USER = 'berth-remap-test';
let dir: string;
let f: CtrFixture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-remap-'));
  // Two ranges: container ids 0-65535 are host 200000-265535, then 300000.
  await writeFile(join(dir, 'subuid'), `someone-else:100000:65536\n${USER}:200000:65536\n${USER}:300000:1000\n`);
  await writeFile(join(dir, 'subgid'), `${USER}:210000:65536\n`);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ usernsRemap: USER, subidFiles: { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') } }));
  const image = {
    name: IMG,
    layers: [
      { entries: busyboxEntries() },
      {
        entries: [
          { path: 'home', type: 'dir' as const },
          { path: 'home/u', type: 'file' as const, uid: 1000, gid: 1000, content: 'u\n' },
        ],
      },
    ],
    config: { Cmd: ['sh'] },
  };
  f = new CtrFixture('remap', { daemonArgs: ['--config', join(dir, 'config.json')], image });
  await f.setup();
}, slow(120_000));
afterAll(async () => {
  await f?.teardown();
  await rm(dir, { recursive: true, force: true });
}, slow(60_000));

const status = (pid: number, field: string) =>
  readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`))!
    .split(/\s+/)
    .slice(1);
async function taskPid(id: string): Promise<number> {
  const line = (await f.ctr(['task', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `));
  return Number(line!.trim().split(/\s+/)[1]);
}

describe('berthd --userns-remap', () => {
  itCtrRoot('a container runs as the subordinate ids; the image keeps its owners inside; execs join its user namespace', async () => {
    const id = 'remapped';
    expect((await f.ctr(['run', '-d', IMG, id, 'sleep', '1000'])).code).toBe(0);
    const pid = await taskPid(id);
    expect(status(pid, 'Uid')).toEqual(['200000', '200000', '200000', '200000']);
    expect(status(pid, 'Gid')).toEqual(['210000', '210000', '210000', '210000']);
    const probe = [
      'cat /proc/self/uid_map /proc/self/gid_map | tr -s " " | sed "s/^ //"',
      'id -u',
      'ls -ln / | grep -E " (bin|etc|home)$" | tr -s " " | cut -d" " -f3,4,9',
      'stat -c "%u:%g %n" /home/u',
      'echo hi > /written && stat -c "%u:%g" /written',
    ].join('; ');
    const r = await f.ctr(['task', 'exec', '--exec-id', 'probe', id, 'sh', '-c', probe]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual([
      '0 200000 65536',
      '65536 300000 1000',
      '0 210000 65536',
      '0',
      '0 0 bin',
      '0 0 etc',
      '0 0 home',
      '1000:1000 /home/u',
      '0:0',
      '',
    ]);
    // On the host, through the container's root: the image's files are unchanged on disk, what it wrote is its root's.
    expect(statSync(`/proc/${pid}/root/written`).uid).toBe(200000);
    // It owns its cgroup (it may make sub-cgroups of its own).
    const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    const ownedBy = cgroupBaseDirs().map((d) => statSync(join(d, 'berth', f.ns, id)).uid);
    expect(cg).toContain(`/berth/${f.ns}/${id}`);
    expect(new Set(ownedBy)).toEqual(new Set([200000]));
    expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
    for (const deadline = Date.now() + slow(20_000); !(await f.ctr(['task', 'ls'])).stdout.includes('STOPPED') && Date.now() < deadline;)
      await new Promise((res) => setTimeout(res, 50));
    expect((await f.ctr(['task', 'rm', id])).code).toBe(0);
    expect((await f.ctr(['containers', 'rm', id])).code).toBe(0);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('a container on the host network keeps the host ids (Docker: --userns=host is implied)', async () => {
    const r = await f.ctr(['run', '--rm', '--net-host', IMG, 'hostnet', 'sh', '-c', 'cat /proc/self/uid_map | tr -s " " | sed "s/^ //"; id -u']);
    expect(r).toMatchObject({ code: 0, stdout: '0 0 4294967295\n0\n' });
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('a user with no subordinate ids: berthd refuses to start, saying why', async () => {
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify({ usernsRemap: 'nobody-here', subidFiles: { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') } }),
    );
    const dirs = await testDirs('berth-remap-bad-');
    try {
      const d = new DaemonProcess(dirs, ['--config', join(dir, 'bad.json')]);
      await expect(d.start()).rejects.toThrow(/userns-remap: .*subuid has no range for user nobody-here/);
    } finally {
      await rm(dirs.dir, { recursive: true, force: true });
    }
  });
});
