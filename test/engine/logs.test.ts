/**
 * `logs` through the engine: the json-file log the monitor writes, read back with --tail, --since,
 * --until, stream selection and --timestamps text; rotation per container (--log-opt); follow
 * across rotations until the container stops.
 */
import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LogEntry, LogsOptions } from '../../src/engine';
import { EngineFixture } from '../helpers/engine';
import { itRoot } from './it-root';

const f = new EngineFixture('englogs');
beforeAll(async () => {
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 60_000);

async function collect(id: string, o: LogsOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of f.engine.logs(f.ctx, id, o)) out.push(e);
  return out;
}
const text = (es: LogEntry[]) => es.map((e) => e.data.toString()).join('');

describe('engine: logs', () => {
  itRoot('--tail, --since/--until, stdout/stderr selection, RFC 3339 nano timestamps', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; sleep 0.3; echo late'],
    });
    await f.engine.start(f.ctx, c.id);
    await f.engine.wait(f.ctx, c.id);
    const all = await collect(c.id);
    expect(all).toHaveLength(11);
    for (const e of all) expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    expect(text(all.filter((e) => e.stream === 'stdout'))).toBe('out1\nout2\nout3\nout4\nout5\nlate\n');
    expect(text(await collect(c.id, { stderr: false }))).toBe('out1\nout2\nout3\nout4\nout5\nlate\n');
    expect(text(await collect(c.id, { stdout: false }))).toBe('err1\nerr2\nerr3\nerr4\nerr5\n');
    expect(text(await collect(c.id, { tail: 1 }))).toBe('late\n');
    expect(await collect(c.id, { tail: 0 })).toEqual([]);
    expect((await collect(c.id, { tail: 3 })).map((e) => e.data.toString())).toEqual(all.slice(-3).map((e) => e.data.toString()));
    expect(await collect(c.id, { tail: 100 })).toHaveLength(11);
    const late = all[all.length - 1]!;
    expect(text(await collect(c.id, { since: late.time }))).toBe('late\n');
    expect((await collect(c.id, { until: late.time })).length).toBe(10);
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('--log-opt max-size/max-file rotate the files; logs and --tail read across them', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      logOpts: { 'max-size': '2k', 'max-file': '3' },
      cmd: ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done'],
    });
    expect(c.hostConfig.logConfig).toEqual({ maxSize: 2000, maxFile: 3 });
    await f.engine.start(f.ctx, c.id);
    await f.engine.wait(f.ctx, c.id);
    const names = await readdir(dirname(c.logPath));
    expect(names.filter((n) => n.includes('-json.log')).sort()).toEqual([`${c.id}-json.log`, `${c.id}-json.log.1`, `${c.id}-json.log.2`]);
    const lines = text(await collect(c.id))
      .trim()
      .split('\n');
    expect(lines[lines.length - 1]).toBe('line-199');
    const first = Number(lines[0]!.slice(5));
    expect(first).toBeGreaterThan(0); // the oldest were rotated away
    expect(lines).toEqual(Array.from({ length: 200 - first }, (_, i) => `line-${first + i}`));
    expect(text(await collect(c.id, { tail: 60 }))).toBe(lines.slice(-60).join('\n') + '\n');
    await expect(f.engine.create(f.ctx, { image: 'busybox', logOpts: { 'max-sise': '1k' } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('follow: every line as it is written, across rotations, until the container stops', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      logOpts: { 'max-size': '1k', 'max-file': '5' },
      cmd: ['sh', '-c', 'i=0; while [ $i -lt 150 ]; do echo line-$i; i=$((i+1)); sleep 0.01; done'],
    });
    await f.engine.start(f.ctx, c.id);
    const got: string[] = [];
    const t0 = Date.now();
    for await (const e of f.engine.logs(f.ctx, c.id, { follow: true })) got.push(e.data.toString().trim());
    expect(Date.now() - t0).toBeGreaterThan(1000); // it followed, then ended with the container
    expect(got).toEqual(Array.from({ length: 150 }, (_, i) => `line-${i}`));
    expect((await f.engine.inspect(f.ctx, c.id)).state.status).toBe('exited');
    // Following a stopped container prints what is there and ends.
    expect((await collect(c.id, { follow: true, tail: 2 })).map((e) => e.data.toString())).toEqual(['line-148\n', 'line-149\n']);
    await f.engine.remove(f.ctx, c.id);
  });

  itRoot('follow with --tail 0 starts at the end; the reader ends when the caller aborts', async () => {
    const c = await f.engine.create(f.ctx, { image: 'busybox', openStdin: true, cmd: ['sh', '-c', 'echo before; while read l; do echo "$l"; done'] });
    const s = await f.engine.attach(f.ctx, c.id, { stdin: true });
    await f.engine.start(f.ctx, c.id);
    for (let i = 0; i < 100 && !text(await collect(c.id)).includes('before'); i++) await new Promise((r) => setTimeout(r, 20));
    const ac = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of f.engine.logs({ ...f.ctx, signal: ac.signal }, c.id, { follow: true, tail: 0 })) {
        got.push(e.data.toString());
        if (got.length === 2) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await s.write(Buffer.from('after1\nafter2\n'));
    await reading;
    expect(got).toEqual(['after1\n', 'after2\n']);
    s.close();
    await f.engine.remove(f.ctx, c.id, { force: true });
  });
});
