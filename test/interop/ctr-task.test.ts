/** `ctr run -d` and the `ctr task` / `ctr containers` commands against berthd. */
import { existsSync } from 'node:fs';
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS } from '../tasks/ctr-fixture';
import { slow } from '../helpers/slow';

const f = new CtrFixture('task');
beforeAll(() => f.setup(), slow(120_000));
afterAll(() => f.teardown(), slow(60_000));

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + slow(20_000); Date.now() < deadline;) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `ctr task ls` as {id: [pid, status]}. */
async function taskLs(): Promise<Record<string, [string, string]>> {
  const r = await f.ctr(['task', 'ls']);
  expect(r.code).toBe(0);
  const out: Record<string, [string, string]> = {};
  for (const l of r.stdout.trim().split('\n').slice(1)) {
    const [id, pid, status] = l.trim().split(/\s+/);
    out[id!] = [pid!, status!];
  }
  return out;
}

describe('ctr run -d and ctr task … against berthd', () => {
  itCtrRoot('run -d, task ls/ps/exec/pause/resume/metrics/kill/rm, containers ls/info/rm', async () => {
    const id = 'detached';
    let r = await f.ctr(['run', '-d', IMG, id, 'sleep', '1000']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [pid, status] = (await taskLs())[id]!;
    expect(status).toBe('RUNNING');
    expect(Number(pid)).toBeGreaterThan(1);

    // ps: the init pid, INFO "-"
    r = await f.ctr(['task', 'ps', id]);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)),
    ).toEqual([[pid, '-']]);

    // exec without and with a terminal; exit codes come back
    r = await f.ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo exec-out; echo exec-err >&2; exit 4']);
    expect(r).toMatchObject({ code: 4, stdout: 'exec-out\n', stderr: 'exec-err\n' });
    r = await f.ctr(['task', 'exec', '--exec-id', 'e2', id, 'cat'], { input: 'via exec stdin\n' });
    expect(r).toMatchObject({ code: 0, stdout: 'via exec stdin\n' });
    r = await f.ctrTty(['task', 'exec', '-t', '--exec-id', 'e3', id, 'sh', '-c', 'tty; exit 6']);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.code).toBe(6);

    // ps shows an exec with its ProcessDetails while it runs
    const bg = f.ctr(['task', 'exec', '--exec-id', 'e4', id, 'sleep', '1000']);
    await until('exec in ps', async () => (await f.ctr(['task', 'ps', id])).stdout.includes('e4'));
    expect((await f.ctr(['task', 'kill', '--exec-id', 'e4', '-s', 'SIGKILL', id])).code).toBe(0);
    expect((await bg).code).toBe(137);

    // pause / resume
    expect((await f.ctr(['task', 'pause', id])).code).toBe(0);
    expect((await taskLs())[id]![1]).toBe('PAUSED');
    expect((await f.ctr(['task', 'resume', id])).code).toBe(0);
    expect((await taskLs())[id]![1]).toBe('RUNNING');

    // containers rm refuses while the task runs
    r = await f.ctr(['containers', 'rm', id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/non stopped/);

    // metrics (table and json)
    r = await f.ctr(['task', 'metrics', id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pids\.current\s+1\b/);
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    if (v2) {
      // ctr prints cgroups v2 metrics (io.containerd.cgroups.v2.Metrics) with their own names.
      expect(r.stdout).toMatch(/memory\.usage\s+[1-9]\d*/);
      expect(r.stdout).toMatch(/cpu\.usage_usec\s+\d+/);
    } else {
      expect(r.stdout).toMatch(/memory\.usage_in_bytes\s+\d+/);
      expect(r.stdout).toMatch(/cpuacct\.usage_percpu\s+\[\d+/);
    }
    r = await f.ctr(['task', 'metrics', '--format', 'json', id]);
    expect(JSON.parse(r.stdout)).toMatchObject(
      v2
        ? {
            pids: { current: 1 },
            memory: { usage: expect.any(Number), anon: expect.any(Number) },
            memory_events: expect.any(Object),
            cpu: { usage_usec: expect.any(Number) },
          }
        : { pids: { current: 1 }, memory: { usage: { usage: expect.any(Number) } } },
    );

    // rm of a running task fails client-side; kill (SIGTERM is ignored by sleep as pid 1), then SIGKILL
    expect((await f.ctr(['task', 'rm', id])).code).not.toBe(0);
    expect((await f.ctr(['task', 'kill', id])).code).toBe(0);
    expect((await taskLs())[id]![1]).toBe('RUNNING');
    expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
    await until('stopped', async () => (await taskLs())[id]?.[1] === 'STOPPED');

    // containers ls/info
    r = await f.ctr(['containers', 'ls']);
    expect(r.stdout).toMatch(new RegExp(`^${id}\\s+${IMG.replace(/[.]/g, '\\.')}\\s+io\\.containerd\\.runc\\.v2`, 'm'));
    r = await f.ctr(['containers', 'info', id]);
    expect(JSON.parse(r.stdout)).toMatchObject({ ID: id, Runtime: { Name: 'io.containerd.runc.v2' }, Snapshotter: 'overlayfs' });

    r = await f.ctr(['task', 'rm', id]);
    expect(r.code).toBe(0);
    expect(await taskLs()).toEqual({});
    expect((await f.ctr(['containers', 'rm', id])).code).toBe(0);
    expect((await f.ctr(['containers', 'ls', '-q'])).stdout).toBe('');
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCtrRoot('a -d container with --log-uri file:// writes its output to the file', async () => {
    const id = 'logged';
    const log = `${f.work}/logged.log`;
    expect((await f.ctr(['run', '-d', '--log-uri', `file://${log}`, IMG, id, 'sh', '-c', 'echo to-log; echo err-log >&2'])).code).toBe(0);
    await until('stopped', async () => (await taskLs())[id]?.[1] === 'STOPPED');
    const text = (await import('node:fs')).readFileSync(log, 'utf8');
    expect(text.split('\n').sort()).toEqual(['', 'err-log', 'to-log']);
    expect((await f.ctr(['task', 'rm', id])).code).toBe(0);
    expect((await f.ctr(['containers', 'rm', id])).code).toBe(0);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });
});
