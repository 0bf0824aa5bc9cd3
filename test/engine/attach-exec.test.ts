/**
 * Attach and exec through the engine API: stdin reaching the process, stdinOnce, resize reaching a
 * tty (stty size), detach keys, an attach made before start seeing all output, exec with a tty,
 * top and stats of a running container.
 */
import { drain, EngineFixture, until } from '../helpers/engine';
import { itRoot } from './it-root';

const f = new EngineFixture('engatt');
beforeAll(async () => {
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 60_000);

describe('engine: attach', () => {
  itRoot('run -i: attached before start, stdin reaches the process, its end closes stdin (stdinOnce), output and exit come back', async () => {
    const c = await f.engine.create(f.ctx, { image: 'busybox', openStdin: true, stdinOnce: true, cmd: ['sh', '-c', 'echo first; tr a-z A-Z; echo done >&2'] });
    const s = await f.engine.attach(f.ctx, c.id, { stdin: true, stdout: true, stderr: true });
    const out = drain(s.events());
    await f.engine.start(f.ctx, c.id);
    await s.write(Buffer.from('hello\nworld\n'));
    await s.closeStdin();
    expect(await out).toEqual({ stdout: 'first\nHELLO\nWORLD\n', stderr: 'done\n', exitCode: 0, detached: false });
    let log = '';
    for await (const e of f.engine.logs(f.ctx, c.id)) log += e.data.toString();
    expect(log).toContain('HELLO\nWORLD\n');
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('-t: a terminal, resize reaches the process (stty size), ctrl-p ctrl-q detaches and the container runs on', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      tty: true,
      openStdin: true,
      cmd: ['sh', '-c', 'while read line; do stty size; echo "got:$line"; done'],
    });
    await f.engine.start(f.ctx, c.id);
    const s = await f.engine.attach(f.ctx, c.id, { stdin: true });
    expect({ tty: s.tty, stdin: s.stdin }).toEqual({ tty: true, stdin: true });
    const out = drain(s.events());
    await s.resize(101, 33);
    await s.write(Buffer.from('one\r'));
    await until('echo', async () => ((await f.engine.inspect(f.ctx, c.id)) && (await logs(c.id)).includes('got:one')) || undefined);
    await s.write(Buffer.from([0x10, 0x11])); // ctrl-p ctrl-q
    const r = await out;
    expect(r.detached).toBe(true);
    expect(r.stdout).toContain('33 101\r\n');
    expect(r.stdout).toContain('got:one');
    expect((await f.engine.inspect(f.ctx, c.id)).state.status).toBe('running');
    // Attach again with other detach keys; a lone ctrl-p passes through.
    const s2 = await f.engine.attach(f.ctx, c.id, { stdin: true, detachKeys: 'ctrl-x' });
    const out2 = drain(s2.events());
    await s2.write(Buffer.from('two\r'));
    await until('second echo', async () => (await logs(c.id)).includes('got:two') || undefined);
    await s2.write(Buffer.from([0x18]));
    expect((await out2).detached).toBe(true);
    await f.engine.stop(f.ctx, c.id, { timeout: 1 });
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('several attachers see the same output; attach to a stopped container is refused', async () => {
    const c = await f.engine.create(f.ctx, { image: 'busybox', openStdin: true, cmd: ['sh', '-c', 'read x; seq 1 2000'] });
    const a = await f.engine.attach(f.ctx, c.id, { stdin: true });
    const b = await f.engine.attach(f.ctx, c.id, { stdout: true, stderr: false });
    const [ra, rb] = [drain(a.events()), drain(b.events())];
    await f.engine.start(f.ctx, c.id);
    await a.write(Buffer.from('go\n'));
    const expected = Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join('');
    expect((await ra).stdout).toBe(expected);
    expect((await rb).stdout).toBe(expected);
    await expect(f.engine.attach(f.ctx, c.id)).rejects.toMatchObject({ kind: 'Conflict' });
    await f.engine.remove(f.ctx, c.id);
  });
});

async function logs(id: string): Promise<string> {
  let s = '';
  for await (const e of f.engine.logs(f.ctx, id)) s += e.data.toString();
  return s;
}

describe('engine: exec, top, stats', () => {
  itRoot('exec: stdin, env, user, workdir, exit code; exec -t sees a terminal; exec in a stopped container is Conflict', async () => {
    const c = await f.engine.create(f.ctx, { image: 'busybox', env: ['FROM=container'], cmd: ['sleep', '100'] });
    await f.engine.start(f.ctx, c.id);
    const e = await f.engine.exec(f.ctx, c.id, {
      cmd: ['sh', '-c', 'read x; echo "$x $FROM $EXTRA"; id -u; pwd; exit 7'],
      stdin: true,
      env: ['EXTRA=exec'],
      user: 'nobody',
      workingDir: '/tmp',
    });
    const out = drain(e.events());
    await e.write(Buffer.from('input\n'));
    await e.closeStdin();
    expect(await out).toEqual({ stdout: 'input container exec\n65534\n/tmp\n', stderr: '', exitCode: 7, detached: false });
    expect(await e.wait()).toBe(7);
    const t = await f.engine.exec(f.ctx, c.id, { cmd: ['sh', '-c', 'tty; stty size'], tty: true });
    await f.engine.resize(f.ctx, c.id, 90, 20, t.execId).catch(() => undefined); // may race with its exit
    const tr = await drain(t.events());
    expect(tr.stdout).toMatch(/^\/dev\/pts\/\d+\r\n/);
    // top: the init and nothing else now that the execs are done.
    const top = await f.engine.top(f.ctx, c.id);
    expect(top.titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(top.processes.map((p) => p[7])).toEqual(['sleep 100']);
    expect(top.processes[0]![1]).toBe(String((await f.engine.inspect(f.ctx, c.id)).state.pid));
    // stats: two samples, the second with a CPU percentage.
    const samples = [];
    for await (const s of f.engine.stats(f.ctx, c.id, { stream: true, intervalMs: 200 })) if (samples.push(s) === 2) break;
    expect(samples[0]).toMatchObject({ pids: 1, cpuPercent: 0 });
    expect(samples[1]!.memoryUsage).toBeGreaterThan(0);
    expect(samples[1]!.memoryLimit).toBeGreaterThan(samples[1]!.memoryUsage);
    expect(samples[1]!.cpuPercent).toBeGreaterThanOrEqual(0);
    await f.engine.kill(f.ctx, c.id);
    await f.engine.wait(f.ctx, c.id);
    await expect(f.engine.exec(f.ctx, c.id, { cmd: ['true'] })).rejects.toMatchObject({ kind: 'Conflict', message: expect.stringContaining('is not running') });
    await expect(f.engine.top(f.ctx, c.id)).rejects.toMatchObject({ kind: 'Conflict' });
    await f.engine.remove(f.ctx, c.id);
  });
});
