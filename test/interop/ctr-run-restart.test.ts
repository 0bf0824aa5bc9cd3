/**
 * berthd crash (SIGKILL) with detached containers running: after a restart on the same dirs every
 * task is back RUNNING, accepts exec and kill and reports its exit code; a container that exited
 * while berthd was down reports its code; its output written meanwhile is in its log file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { call, rawClient, nsMetadata } from '../helpers/daemon';
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS } from '../tasks/ctr-fixture';

const N = 20;
const f = new CtrFixture('restart');
beforeAll(() => f.setup(), 120_000);
afterAll(() => f.teardown(), 120_000);

async function until(what: string, fn: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function taskLs(): Promise<Record<string, [string, string]>> {
  const r = await f.ctr(['task', 'ls']);
  const out: Record<string, [string, string]> = {};
  for (const l of r.stdout.trim().split('\n').slice(1)) {
    const [id, pid, status] = l.trim().split(/\s+/);
    if (id) out[id] = [pid!, status!];
  }
  return out;
}

async function getTask(id: string, execId = ''): Promise<{ status: string; exit_status: number }> {
  const c = rawClient(f.address, 'containerd.services.tasks.v1.Tasks');
  try {
    return (await call(c, 'Get', { container_id: id, exec_id: execId }, nsMetadata(f.ns))).process;
  } finally {
    c.close();
  }
}

describe('berthd crash and restart with running containers', () => {
  itCtrRoot(
    `${N} detached containers survive a SIGKILL of berthd; exits while it was down are reported`,
    async () => {
      const ids = Array.from({ length: N }, (_, i) => `c${i}`);
      for (const id of ids) expect((await f.ctr(['run', '-d', IMG, id, 'sleep', '1000'])).code).toBe(0);
      // One that finishes while berthd is down, writing output then, into a --log-uri file.
      const signal = join(f.work, 'signal');
      await mkdir(signal);
      const log = join(f.work, 'quitter.log');
      const script = 'echo before; while [ ! -e /signal/go ]; do sleep 0.05; done; echo while-down; exit 9';
      expect(
        (
          await f.ctr([
            'run',
            '-d',
            '--log-uri',
            `file://${log}`,
            '--mount',
            `type=bind,src=${signal},dst=/signal,options=rbind:rw`,
            IMG,
            'quitter',
            'sh',
            '-c',
            script,
          ])
        ).code,
      ).toBe(0);
      const before = await taskLs();
      expect(Object.values(before).every(([, s]) => s === 'RUNNING')).toBe(true);
      expect(Object.keys(before).sort()).toEqual([...ids, 'quitter'].sort());

      await f.proc.kill();
      const quitterPid = before.quitter![0];
      await writeFile(join(signal, 'go'), '');
      await until('quitter exited while berthd was down', () => !existsSync(`/proc/${quitterPid}`));

      await f.proc.start();
      const after = await taskLs();
      for (const id of ids) expect(after[id]).toEqual([before[id]![0], 'RUNNING']);
      expect(after.quitter![1]).toBe('STOPPED');
      expect((await getTask('quitter')).exit_status).toBe(9);
      expect(readFileSync(log, 'utf8')).toBe('before\nwhile-down\n');

      // exec into a restored task; kill every task with a different signal and read back the codes
      const r = await f.ctr(['task', 'exec', '--exec-id', 'after-restart', 'c0', 'sh', '-c', 'echo exec-ok; exit 2']);
      expect(r).toMatchObject({ code: 2, stdout: 'exec-ok\n' });
      for (const id of ids) expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
      await until('all stopped', async () => Object.values(await taskLs()).every(([, s]) => s === 'STOPPED'));
      for (const id of ids) expect((await getTask(id)).exit_status).toBe(137);

      for (const id of [...ids, 'quitter']) {
        const rm = await f.ctr(['task', 'rm', id]);
        expect(rm.code).toBe(0);
        expect(rm.stderr).toContain(`exit code ${id === 'quitter' ? 9 : 137}`);
        expect((await f.ctr(['containers', 'rm', id])).code).toBe(0);
      }
      expect(await f.leaks()).toEqual(NO_LEAKS);
    },
    120_000,
  );

  itCtrRoot('a restart after a clean stop keeps running tasks too, and a bundle whose container is gone is cleaned up', async () => {
    expect((await f.ctr(['run', '-d', IMG, 'keep', 'sleep', '1000'])).code).toBe(0);
    await f.proc.stop();
    await f.proc.start();
    expect((await taskLs()).keep![1]).toBe('RUNNING');
    expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', 'keep'])).code).toBe(0);
    await until('stopped', async () => (await taskLs()).keep?.[1] === 'STOPPED');
    expect((await f.ctr(['task', 'rm', 'keep'])).code).toBe(0);
    expect((await f.ctr(['containers', 'rm', 'keep'])).code).toBe(0);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });
});
