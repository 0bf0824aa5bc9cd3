/** `ctr run --rm` (foreground) against berthd: output, exit codes, stdin, tty, run flags, OOM, events. */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS, spawnCtr } from '../tasks/ctr-fixture';
import { slow } from '../helpers/slow';

const f = new CtrFixture('run');
beforeAll(() => f.setup(), slow(120_000));
afterAll(() => f.teardown(), slow(60_000));

let seq = 0;
const nextId = (name: string) => `${name}-${++seq}`;
const runRm = (id: string, args: string[], flags: string[] = [], input?: string) => f.ctr(['run', '--rm', ...flags, IMG, id, ...args], { input });

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + slow(20_000); Date.now() < deadline;) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('ctr run --rm against berthd', () => {
  itCtrRoot('prints stdout and stderr and leaves nothing behind', async () => {
    const r = await runRm(nextId('echo'), ['sh', '-c', 'echo out; echo err >&2']);
    expect(r).toMatchObject({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('propagates the exit code', async () => {
    expect((await runRm(nextId('exit'), ['sh', '-c', 'exit 3'])).code).toBe(3);
  });

  itCtrRoot('a SIGKILLed task exits 137', async () => {
    const id = nextId('sigkill');
    const running = runRm(id, ['sleep', '1000']);
    await until(
      'task running',
      async () => (await f.ctr(['task', 'ls'])).stdout.includes(`${id} `) && (await f.ctr(['task', 'ls'])).stdout.includes('RUNNING'),
    );
    expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
    expect((await running).code).toBe(137);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('stdin through a pipe reaches the process and EOF ends it', async () => {
    const r = await runRm(nextId('stdin'), ['sh', '-c', 'cat; echo done'], [], 'hello stdin\nsecond line\n');
    expect(r).toMatchObject({ code: 0, stdout: 'hello stdin\nsecond line\ndone\n' });
  });

  itCtrRoot('-t under a pseudo-terminal: a tty, output, exit code', async () => {
    const r = await f.ctrTty(['run', '--rm', '-t', IMG, nextId('tty'), 'sh', '-c', 'tty; exit 5']);
    expect(r.stdout).toContain('/dev/pts/0');
    expect(r.stdout).not.toMatch(/resize pty|error/i);
    expect(r.code).toBe(5);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('--env, --cwd, --read-only, --net-host, --privileged, --cap-add/--cap-drop', async () => {
    let r = await runRm(nextId('env'), ['sh', '-c', 'echo $FOO; pwd'], ['--env', 'FOO=bar', '--cwd', '/tmp']);
    expect(r).toMatchObject({ code: 0, stdout: 'bar\n/tmp\n' });

    r = await runRm(nextId('ro'), ['sh', '-c', 'touch /x 2>/dev/null && echo rw || echo ro'], ['--read-only']);
    expect(r.stdout).toBe('ro\n');
    r = await runRm(nextId('rw'), ['sh', '-c', 'touch /x 2>/dev/null && echo rw || echo ro']);
    expect(r.stdout).toBe('rw\n');

    // The namespace itself, not a count of the host's interfaces: other work on the host adds
    // and removes veths while the test runs.
    const hostNetns = readlinkSync('/proc/self/ns/net');
    r = await runRm(nextId('nethost'), ['readlink', '/proc/self/ns/net'], ['--net-host']);
    expect(r.stdout.trim()).toBe(hostNetns);
    r = await runRm(nextId('netns'), ['sh', '-c', 'readlink /proc/self/ns/net; cat /proc/net/dev | wc -l']);
    const [ownNetns, lines] = r.stdout.trim().split('\n');
    expect(ownNetns).toMatch(/^net:\[\d+\]$/);
    expect(ownNetns).not.toBe(hostNetns);
    expect(Number(lines)).toBe(3); // two header lines + lo

    const capEff = async (flags: string[]) => (await runRm(nextId('caps'), ['sh', '-c', 'grep CapEff /proc/self/status'], flags)).stdout.trim().split(/\s+/)[1];
    expect(await capEff([])).toBe('00000000a80425fb');
    expect(BigInt(`0x${await capEff(['--cap-add', 'CAP_SYS_ADMIN'])}`) & (1n << 21n)).toBe(1n << 21n);
    expect(BigInt(`0x${await capEff(['--cap-drop', 'CAP_CHOWN'])}`) & 1n).toBe(0n);
    expect(BigInt(`0x${await capEff(['--privileged'])}`) & (1n << 21n)).toBe(1n << 21n);
  });

  itCtrRoot('--mount type=bind,…,options=rbind:ro', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-run-mount-'));
    try {
      await writeFile(join(dir, 'hello'), 'from the host\n');
      const r = await runRm(
        nextId('mount'),
        ['sh', '-c', 'cat /data/hello; touch /data/x 2>/dev/null && echo rw || echo ro'],
        ['--mount', `type=bind,src=${dir},dst=/data,options=rbind:ro`],
      );
      expect(r).toMatchObject({ code: 0, stdout: 'from the host\nro\n' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  itCtrRoot('--memory-limit and --cpus reach the cgroup', async () => {
    const id = nextId('limits');
    expect((await f.ctr(['run', '-d', '--memory-limit', '67108864', '--cpus', '0.5', IMG, id, 'sleep', '1000'])).code).toBe(0);
    const pid = (await f.ctr(['task', 'ls'])).stdout
      .split('\n')
      .find((l) => l.startsWith(`${id} `))!
      .trim()
      .split(/\s+/)[1];
    const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const dir = join('/sys/fs/cgroup', /^0::(.*)$/m.exec(cg)![1]!);
      expect(dir).toContain(`/berth/${f.ns}/${id}`);
      expect(readFileSync(join(dir, 'memory.max'), 'utf8').trim()).toBe('67108864');
      expect(readFileSync(join(dir, 'cpu.max'), 'utf8').trim()).toBe('50000 100000');
    } else {
      const dir = (ctrl: string) => join('/sys/fs/cgroup', ctrl, new RegExp(`^\\d+:(?:[^:]*,)?${ctrl}(?:,[^:]*)?:(.*)$`, 'm').exec(cg)![1]!);
      expect(dir('memory')).toContain(`/berth/${f.ns}/${id}`);
      expect(readFileSync(join(dir('memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe('67108864');
      const quota = Number(readFileSync(join(dir('cpu'), 'cpu.cfs_quota_us'), 'utf8'));
      const period = Number(readFileSync(join(dir('cpu'), 'cpu.cfs_period_us'), 'utf8'));
      expect(quota / period).toBe(0.5);
    }
    expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
    await until('stopped', async () => (await f.ctr(['task', 'ls'])).stdout.includes('STOPPED'));
    expect((await f.ctr(['task', 'rm', id])).code).toBe(0);
    expect((await f.ctr(['containers', 'rm', id])).code).toBe(0);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('an out-of-memory run exits 137 and ctr events shows /tasks/oom; events show the lifecycle', async () => {
    const ev = spawnCtr(f.address, f.ns, ['events']);
    try {
      // The subscription is live once an event made after it shows up (no timing assumption).
      for (let i = 0; !ev.output().includes('"probe-'); i++) {
        await f.ctr(['containers', 'create', IMG, `probe-${i}`]);
        await f.ctr(['containers', 'rm', `probe-${i}`]);
        if (i > 100) throw new Error('ctr events never saw an event');
      }
      const id = nextId('oom');
      const r = await runRm(id, ['sh', '-c', 'x=aaaaaaaa; while true; do x=$x$x; done'], ['--memory-limit', '16777216']);
      expect(r.code).toBe(137);
      await until('events', async () => ev.output().includes('/tasks/delete') && ev.output().includes('/containers/delete'));
      const topics = ev
        .output()
        .split('\n')
        .filter((l) => l.includes(`"${id}"`) || l.includes(`"container_id":"${id}"`))
        .map((l) => l.split(' ')[5]);
      expect(topics).toEqual(expect.arrayContaining(['/tasks/create', '/tasks/start', '/tasks/oom', '/tasks/exit', '/tasks/delete']));
      expect(topics.indexOf('/tasks/create')).toBeLessThan(topics.indexOf('/tasks/start'));
      expect(topics.indexOf('/tasks/start')).toBeLessThan(topics.indexOf('/tasks/exit'));
      expect(topics.indexOf('/tasks/exit')).toBeLessThan(topics.indexOf('/tasks/delete'));
      const exit = ev
        .output()
        .split('\n')
        .find((l) => l.includes('/tasks/exit') && l.includes(id))!;
      expect(JSON.parse(exit.slice(exit.indexOf('{')))).toMatchObject({ container_id: id, id, exit_status: 137 });
    } finally {
      await ev.stop();
    }
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('binary:// log URIs are refused', async () => {
    const r = await f.ctr(['run', '--rm', '--log-uri', 'binary:///bin/sh?x=y', IMG, nextId('binary'), 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/binary:\/\/ log URIs are not supported/);
    await f.ctr(['containers', 'rm', `binary-${seq}`]);
  });
});
