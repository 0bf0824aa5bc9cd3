/**
 * Capture mode: the monitor writes Docker's json-file log itself (escaping, 16 KiB partial lines,
 * rotation), serves attachers (stdin, resize, several at once, one that never reads), and the
 * helper binary doubles as the container's init.
 */
import { createConnection } from 'node:net';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcess, helperPath, openAttach, type AttachEvent, type AttachSession, type CreatedProcess, type LaunchPlanInput } from '../../src/tasks/helper';
import { itRoot, Running, until, useHarness } from './harness';

const h = useHarness();

interface Entry {
  log: string;
  stream: string;
  time: string;
}
const RFC3339NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/;

async function entries(path: string): Promise<{ raw: string[]; parsed: Entry[] }> {
  const text = await readFile(path, 'utf8');
  const raw = text.split('\n').slice(0, -1);
  expect(text.endsWith('\n')).toBe(true);
  return { raw, parsed: raw.map((l) => JSON.parse(l) as Entry) };
}

async function launch(name: string, args: string[], capture: LaunchPlanInput['capture'], extra: Partial<LaunchPlanInput> = {}): Promise<{ id: string; plan: LaunchPlanInput; created: CreatedProcess; log: string }> {
  const id = h.nextId(name);
  const log = join(h.stateRoot, `${id}-json.log`);
  const plan = h.plan(id, h.spec(id, args), { capture: capture && { ...capture, log: capture.log && { ...capture.log, path: log } }, ...extra });
  return { id, plan, created: await createProcess(plan), log };
}

async function finish(l: { id: string; plan: LaunchPlanInput; created: CreatedProcess; log: string }): Promise<number> {
  const exit = await l.created.monitor.wait();
  await new Running(l.id, l.plan, l.created, l.log).remove();
  for (const f of await readdir(h.stateRoot)) if (f.startsWith(`${l.id}-json.log`)) await rm(join(h.stateRoot, f));
  return exit.exitStatus;
}

async function collect(s: AttachSession): Promise<{ stdout: string; stderr: string; events: AttachEvent[] }> {
  let stdout = '';
  let stderr = '';
  const events: AttachEvent[] = [];
  for await (const e of s.events()) {
    if (e.kind === 'stdout') stdout += e.data.toString('latin1');
    else if (e.kind === 'stderr') stderr += e.data.toString('latin1');
    else events.push(e);
  }
  return { stdout, stderr, events };
}

const LOG = { path: '/placeholder', maxSize: 0, maxFiles: 1 };

describe('berth-helper capture mode: json-file log', () => {
  itRoot('writes Docker json-file lines per stream, a final partial line without newline at EOF', async () => {
    const l = await launch('log', ['sh', '-c', 'echo hello; echo oops >&2; echo; printf "no newline"'], { stdinOpen: false, log: LOG });
    await l.created.start();
    await l.created.monitor.wait();
    const { parsed } = await entries(l.log);
    const out = parsed.filter((e) => e.stream === 'stdout');
    expect(out.map((e) => e.log)).toEqual(['hello\n', '\n', 'no newline']);
    expect(parsed.filter((e) => e.stream === 'stderr').map((e) => e.log)).toEqual(['oops\n']);
    for (const e of parsed) expect(e.time).toMatch(RFC3339NANO);
    for (const e of parsed) expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(60_000);
    expect(await finish(l)).toBe(0);
  });

  itRoot("escapes bytes exactly as Docker's jsonlog: <>& as \\u00XX, invalid UTF-8 as \\ufffd, U+2028", async () => {
    // \001 control, \377 invalid, \342\200\250 U+2028, \303\251 é, \355\240\200 a surrogate (invalid), \t and \r.
    const l = await launch('esc', ['sh', '-c', `printf '<a>&"q"\\\\ \\001\\377\\342\\200\\250\\303\\251\\355\\240\\200\\t\\r\\n'`], { stdinOpen: false, log: LOG });
    await l.created.start();
    await l.created.monitor.wait();
    const { raw } = await entries(l.log);
    expect(raw).toHaveLength(1);
    expect(raw[0]).toMatch(/^\{"log":"\\u003ca\\u003e\\u0026\\"q\\"\\\\ \\u0001\\ufffd\\u2028é\\ufffd\\ufffd\\ufffd\\u0009\\r\\n","stream":"stdout","time":"[^"]+"\}$/);
    expect(await finish(l)).toBe(0);
  });

  itRoot('splits a line at 16 KiB: partial pieces without newline share the first piece’s time', async () => {
    const script = 'printf "%040000d\\n" 0; printf "%016384d\\n" 0';
    const l = await launch('split', ['sh', '-c', script], { stdinOpen: false, log: LOG });
    await l.created.start();
    await l.created.monitor.wait();
    const { parsed } = await entries(l.log);
    expect(parsed.map((e) => e.log.length)).toEqual([16384, 16384, 40000 - 32768 + 1, 16384, 1]);
    expect(parsed[2]!.log.endsWith('0\n')).toBe(true);
    expect(parsed[4]!.log).toBe('\n'); // Docker writes the newline after a full buffer as its own entry
    expect(new Set(parsed.slice(0, 3).map((e) => e.time)).size).toBe(1);
    expect(parsed[3]!.time).toBe(parsed[4]!.time);
    expect(await finish(l)).toBe(0);
  });

  itRoot('rotates at max-size keeping max-file files (<log>, .1, .2), newest lines last', async () => {
    const l = await launch('rotate', ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done'], { stdinOpen: false, log: { ...LOG, maxSize: 2000, maxFiles: 3 } });
    await l.created.start();
    await l.created.monitor.wait();
    const names = (await readdir(h.stateRoot)).filter((f) => f.startsWith(`${l.id}-json.log`)).sort();
    expect(names).toEqual([`${l.id}-json.log`, `${l.id}-json.log.1`, `${l.id}-json.log.2`]);
    const lines: string[] = [];
    for (const f of [`${l.log}.2`, `${l.log}.1`, l.log]) {
      const s = await stat(f);
      const { parsed } = await entries(f);
      // Docker rotates before a write once the file reached max-size: one entry may go past it.
      if (f !== l.log) expect(s.size).toBeGreaterThanOrEqual(2000);
      expect(s.size).toBeLessThan(2000 + 100);
      lines.push(...parsed.map((e) => e.log));
    }
    expect(lines[lines.length - 1]).toBe('line-299\n');
    const first = Number(/line-(\d+)/.exec(lines[0]!)![1]);
    expect(lines).toEqual(Array.from({ length: 300 - first }, (_, i) => `line-${first + i}\n`));
    expect(await finish(l)).toBe(0);
  });

  itRoot('with a terminal the pty output is logged as stream stdout', async () => {
    const l = await launch('ttylog', ['sh', '-c', 'echo on-tty; echo err >&2'], { stdinOpen: false, log: LOG }, { terminal: true });
    await l.created.start();
    await l.created.monitor.wait();
    const { parsed } = await entries(l.log);
    expect(parsed.map((e) => [e.stream, e.log])).toEqual([
      ['stdout', 'on-tty\r\n'],
      ['stdout', 'err\r\n'],
    ]);
    expect(await finish(l)).toBe(0);
  });
});

describe('berth-helper capture mode: attach', () => {
  itRoot('an attacher connected before start gets all output, feeds stdin, sees the exit', async () => {
    const l = await launch('attach', ['sh', '-c', 'echo early; read x; echo got:$x; echo e >&2; exit 3'], { stdinOpen: true, log: LOG });
    const pending = openAttach(l.plan.stateDir, ['stdin', 'stdout', 'stderr']);
    await pending.requested;
    await l.created.start();
    const s = await pending.session;
    expect({ tty: s.tty, stdin: s.stdin }).toEqual({ tty: false, stdin: true });
    const out = collect(s);
    await s.write(Buffer.from('abc\n'));
    const r = await out;
    expect(r.stdout).toBe('early\ngot:abc\n');
    expect(r.stderr).toBe('e\n');
    expect(r.events).toEqual([{ kind: 'exit', exit: expect.objectContaining({ exitStatus: 3 }) }]);
    // The log has it all as well.
    expect((await entries(l.log)).parsed.map((e) => e.log)).toEqual(expect.arrayContaining(['early\n', 'got:abc\n', 'e\n']));
    expect(await finish(l)).toBe(3);
  });

  itRoot('close-stdin comes after the stdin bytes written before it', async () => {
    const l = await launch('eof', ['sh', '-c', 'cat; echo eof-seen'], { stdinOpen: true });
    const pending = openAttach(l.plan.stateDir, ['stdin', 'stdout']);
    await pending.requested;
    await l.created.start();
    const s = await pending.session;
    const out = collect(s);
    const big = Buffer.alloc(300_000, 'z'); // more than the pipe holds: the pump writes it in turns
    await s.write(big);
    await s.closeStdin();
    const r = await out;
    expect(r.stdout.length).toBe(big.length + 'eof-seen\n'.length);
    expect(r.stdout.endsWith('zeof-seen\n')).toBe(true);
    expect(await finish(l)).toBe(0);
  });

  itRoot('a terminal: resize reaches the process (stty size), stdin through the pty', async () => {
    const l = await launch('resize', ['sh', '-c', 'read x; stty size; echo typed:$x'], { stdinOpen: true }, { terminal: true });
    const pending = openAttach(l.plan.stateDir, ['stdin', 'stdout']);
    await pending.requested;
    await l.created.start();
    const s = await pending.session;
    expect(s.tty).toBe(true);
    const out = collect(s);
    await s.resize(123, 45);
    await s.write(Buffer.from('hi\n'));
    const r = await out;
    expect(r.stdout).toContain('45 123\r\n');
    expect(r.stdout).toContain('typed:hi');
    expect(await finish(l)).toBe(0);
  });

  itRoot('attachers that read get every byte; one that never reads holds the container up at most briefly', async () => {
    const l = await launch('stall', ['sh', '-c', 'read go; head -c 3000000 /dev/zero | tr "\\0" x; echo; echo done'], { stdinOpen: true, log: LOG });
    // A raw attacher that asks for stdout and then never reads a byte.
    const stalled = createConnection(join(l.plan.stateDir, 'monitor.sock'));
    await new Promise<void>((r) => stalled.once('connect', () => stalled.write('attach stdout\n', () => r())));
    const a = openAttach(l.plan.stateDir, ['stdin', 'stdout']);
    const b = openAttach(l.plan.stateDir, ['stdout']);
    await Promise.all([a.requested, b.requested]);
    await l.created.start();
    const [sa, sb] = await Promise.all([a.session, b.session]);
    const [ra, rb] = [collect(sa), collect(sb)];
    await sa.write(Buffer.from('go\n'));
    const t0 = Date.now();
    expect(await finish(l)).toBe(0); // the stalled attacher did not hold the container up
    expect(Date.now() - t0).toBeLessThan(20_000);
    for (const r of [await ra, await rb]) {
      expect(r.stdout).toBe('x'.repeat(3_000_000) + '\ndone\n');
      expect(r.events.map((e) => e.kind)).toEqual(['exit']);
    }
    // The stalled attacher's socket holds whole frames of what fitted (it never caught up, so no
    // drop count could reach it either).
    const got: Buffer[] = [];
    stalled.on('data', (b: Buffer) => got.push(b));
    await new Promise((r) => stalled.once('close', r));
    const raw = Buffer.concat(got);
    const nl = raw.indexOf(10);
    expect(JSON.parse(raw.subarray(0, nl).toString())).toMatchObject({ ok: true });
    let off = nl + 1;
    let bytes = 0;
    let dropped = 0;
    while (off < raw.length) {
      const len = raw.readUInt32BE(off + 4);
      const payload = raw.subarray(off + 8, off + 8 + len);
      if (raw[off] === 1) bytes += len;
      else if (raw[off] === 3 && 'dropped' in JSON.parse(payload.toString())) dropped += JSON.parse(payload.toString()).dropped;
      off += 8 + len;
    }
    expect(off).toBe(raw.length);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes + dropped).toBeLessThan(3_000_000);
  });

  itRoot('attach is refused without capture', async () => {
    const r = await h.run('nocapture', ['sleep', '30']);
    const p = openAttach(r.plan.stateDir, ['stdout']);
    await expect(p.session).rejects.toMatchObject({ kind: 'NotImplemented' });
    await r.monitor.kill('SIGKILL');
    await r.finish();
  });
});

describe('berth-helper --init', () => {
  const initMount = { destination: '/sbin/berth-init', type: 'bind', source: helperPath(), options: ['bind', 'ro'] };
  const zombies = async (created: CreatedProcess) => {
    const { readFileSync, readdirSync } = await import('node:fs');
    let n = 0;
    for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const st = readFileSync(`/proc/${p}/stat`, 'utf8');
        const fields = st.slice(st.lastIndexOf(')') + 2).split(' ');
        // In the container: a descendant of its pid 1 (ppid chain) in state Z.
        if (fields[0] === 'Z' && Number(fields[1]) === created.pid) n++;
      } catch {
        /* gone */
      }
    }
    return n;
  };

  itRoot('reaps orphaned zombies, forwards signals, exits with the command’s status', async () => {
    const script = '(sleep 0.05 &); (sleep 0.05 &); exec sleep 60';
    // Without an init, pid 1 (sleep) never reaps the orphans.
    const bare = await launch('noinit', ['sh', '-c', script], undefined, { stdio: { stdout: { kind: 'null' }, stderr: { kind: 'null' } } });
    await bare.created.start();
    await until('zombies without init', async () => ((await zombies(bare.created)) >= 2 ? true : undefined));
    await bare.created.monitor.kill('SIGKILL');
    expect(await finish(bare)).toBe(137);

    const l = await launch('init', ['/sbin/berth-init', '--', 'sh', '-c', script], undefined, { mounts: [...h.plan('x', h.spec('x', ['true'])).mounts!, initMount] });
    await l.created.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(await zombies(l.created)).toBe(0);
    // SIGTERM to pid 1 reaches the command (pid 1 itself would ignore it).
    await l.created.monitor.kill('SIGTERM');
    expect(await finish(l)).toBe(143);
  });
});
