/**
 * berth.engine.v1.Engine over the wire, driven by the client library against berthd in this
 * process: the lifecycle calls and their errors (codes and Docker's wording), logs, attach and
 * exec sessions (stdin, resize, exit code, detach), stats, events with --since, images, and the
 * bidi stream's flow control (a client that stops reading costs berthd only one window).
 */
import { Client, type SessionOutput } from '../../src/client';
import { EngineFixture, until } from '../helpers/engine';
import { itRoot } from '../engine/it-root';

const f = new EngineFixture('engsvc');
let client: Client;
beforeAll(async () => {
  await f.setup();
  await f.addImage();
  client = new Client({ address: f.dirs.address, namespace: f.ns });
}, 120_000);
afterAll(async () => {
  client?.close();
  await f.teardown();
}, 60_000);

async function collect(s: AsyncIterable<SessionOutput>): Promise<{ stdout: string; stderr: string; exit?: number; detached: boolean }> {
  const r = { stdout: '', stderr: '', exit: undefined as number | undefined, detached: false };
  for await (const e of s) {
    if (e.kind === 'stdout') r.stdout += e.data.toString();
    else if (e.kind === 'stderr') r.stderr += e.data.toString();
    else if (e.kind === 'exit') r.exit = e.exitCode;
    else if (e.kind === 'detached') r.detached = true;
  }
  return r;
}

describe('Engine service through the client library', () => {
  itRoot('create/start/wait/inspect/list/logs/rm, and the errors of each with their kinds', async () => {
    const { id, name } = await client.engine.create({ name: 'svc-one', image: 'busybox', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    expect(name).toBe('svc-one');
    await expect(client.engine.create({ name: 'svc-one', image: 'busybox', cmd: ['true'] })).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('is already in use'),
    });
    await expect(client.engine.create({ image: 'no-such-image' })).rejects.toMatchObject({ kind: 'NotFound', message: 'No such image: no-such-image' });
    await expect(client.engine.create({ image: 'busybox', cmd: ['true'], host_config: { memory: '12x' } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await client.engine.start({ container: 'svc-one' });
    expect(await client.engine.wait({ container: id })).toEqual({ exit_code: 3, error: '' });
    const c = await client.engine.inspect({ container: id.slice(0, 10) });
    expect(c.state?.status).toBe('exited');
    expect(c.state?.exit_code).toBe(3);
    const ps = await client.engine.list({ all: true, filters: { name: { values: ['svc-one'] } } });
    expect(ps.containers.map((x) => x.names)).toEqual([['/svc-one']]);
    expect((await client.engine.list({})).containers.find((x) => x.id === id)).toBeUndefined();
    const lines: string[] = [];
    for await (const b of client.engine.logs({ container: id })) for (const e of b.entries) lines.push(`${e.stream}:${e.data.toString()}`);
    expect(lines.sort()).toEqual(['stderr:err\n', 'stdout:out\n']);
    await expect(client.engine.stop({ container: 'nope' })).rejects.toMatchObject({ kind: 'NotFound', message: 'No such container: nope' });
    await expect(client.engine.pause({ container: id })).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('is not running'),
    });
    await expect(client.engine.start({ container: '' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(client.engine.wait({ container: id, condition: 'sometime' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await client.engine.remove({ container: id });
    await expect(client.engine.inspect({ container: id })).rejects.toMatchObject({ kind: 'NotFound' });
  });

  itRoot('attach before start: stdin in, output out, exit code last; a tty session resizes and detaches', async () => {
    const { id } = await client.engine.create({ image: 'busybox', open_stdin: true, stdin_once: true, cmd: ['sh', '-c', 'tr a-z A-Z; echo bye >&2; exit 7'] });
    const s = await client.engine.attachSession({ container: id, stdin: true, stdout: true, stderr: true });
    expect(s.ready).toEqual({ tty: false, stdin: true, execId: '' });
    const out = collect(s);
    await client.engine.start({ container: id });
    await s.write(Buffer.from('hello\n'));
    await s.closeStdin();
    expect(await out).toEqual({ stdout: 'HELLO\n', stderr: 'bye\n', exit: 7, detached: false });
    await client.engine.remove({ container: id });

    const t = await client.engine.create({ image: 'busybox', tty: true, open_stdin: true, cmd: ['sh', '-c', 'while read l; do stty size; done'] });
    await client.engine.start({ container: t.id });
    const a = await client.engine.attachSession({ container: t.id, stdin: true, stdout: true });
    const aout = collect(a);
    await a.resize(120, 40);
    await a.write(Buffer.from('x\r'));
    await until('stty size', async () => {
      let log = '';
      for await (const b of client.engine.logs({ container: t.id })) for (const e of b.entries) log += e.data.toString();
      return log.includes('40 120') || undefined;
    });
    await a.write(Buffer.from([0x10, 0x11]));
    const r = await aout;
    expect(r.detached).toBe(true);
    expect(r.stdout).toContain('40 120');
    expect((await client.engine.inspect({ container: t.id })).state?.status).toBe('running');
    await expect(client.engine.attachSession({ container: 'nope' })).rejects.toMatchObject({ kind: 'NotFound' });
    await client.engine.remove({ container: t.id, force: true });
  });

  itRoot('exec: output and exit code, stdin, a tty; exec in a stopped container is refused with Docker wording', async () => {
    const { id } = await client.engine.create({ image: 'busybox', cmd: ['sleep', '60'] });
    await client.engine.start({ container: id });
    const x = await client.engine.execSession({ container: id, cmd: ['sh', '-c', 'cat; echo "$FOO" >&2; exit 4'], env: ['FOO=bar'], stdin: true });
    expect(x.ready.execId).toMatch(/^[0-9a-f]{64}$/);
    const xo = collect(x);
    await x.write(Buffer.from('piped\n'));
    await x.closeStdin();
    expect(await xo).toEqual({ stdout: 'piped\n', stderr: 'bar\n', exit: 4, detached: false });
    const tt = await client.engine.execSession({ container: id, cmd: ['sh', '-c', 'test -t 1 && echo tty'], tty: true });
    expect((await collect(tt)).stdout).toBe('tty\r\n');
    const top = await client.engine.top({ container: id });
    expect(top.titles).toContain('PID');
    expect(top.processes.some((p) => p.fields.join(' ').includes('sleep 60'))).toBe(true);
    const stats: number[] = [];
    for await (const s of client.engine.stats({ container: id, stream: true, interval_ms: 200 })) {
      stats.push(Number(s.memory_usage));
      if (stats.length === 2) break;
    }
    expect(stats.length).toBe(2);
    await client.engine.kill({ container: id });
    await client.engine.wait({ container: id });
    await expect(client.engine.execSession({ container: id, cmd: ['true'] })).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: `container ${id} is not running`,
    });
    await client.engine.remove({ container: id });
  });

  itRoot('a session whose client does not read stalls only itself: the container runs to its end and berthd answers meanwhile', async () => {
    const { id } = await client.engine.create({ image: 'busybox', cmd: ['sh', '-c', 'head -c 30000000 /dev/zero | tr "\\0" x; echo; echo done'] });
    const s = await client.engine.attachSession({ container: id, stdout: true, stderr: true });
    await client.engine.start({ container: id });
    // Nobody reads the session while the container writes 30 MB (above the stream's 16 MiB window).
    const t0 = Date.now();
    expect((await client.engine.wait({ container: id })).exit_code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect((await client.engine.list({ all: true })).containers.some((c) => c.id === id)).toBe(true);
    s.close();
    let tail = '';
    for await (const b of client.engine.logs({ container: id, tail: '1' })) for (const e of b.entries) tail += e.data.toString();
    expect(tail).toBe('done\n');
    await client.engine.remove({ container: id });
  });

  itRoot('events: live, replayed with since, bounded by until; filters', async () => {
    const since = new Date(Date.now() - 1000);
    const { id } = await client.engine.create({ name: 'svc-ev', image: 'busybox', cmd: ['true'] });
    await client.engine.start({ container: id });
    await client.engine.wait({ container: id });
    await client.engine.remove({ container: id });
    const seen: string[] = [];
    const until = new Date(Date.now() + 200);
    const sec = (d: Date) => ({ seconds: String(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 });
    for await (const e of client.engine.events({ since: sec(since), until: sec(until), filters: { container: { values: ['svc-ev'] } } })) seen.push(e.action);
    expect(seen).toEqual(['create', 'start', 'die', 'destroy']);
    const bogus = client.engine.events({ filters: { bogus: { values: ['x'] } } });
    await expect(bogus[Symbol.asyncIterator]().next()).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  itRoot('images: list by id with tags, inspect, rmi refuses while a container uses the image', async () => {
    const imgs = await client.engine.listImages({});
    const bb = imgs.images.find((i) => i.repo_tags.includes('busybox:latest'))!;
    expect(bb.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Number(bb.size)).toBeGreaterThan(100_000);
    const d = await client.engine.inspectImage({ image: bb.id.slice(7, 19) });
    expect(JSON.parse(d.config_json.toString()).rootfs.type).toBe('layers');
    const { id } = await client.engine.create({ image: 'busybox', cmd: ['true'] });
    await expect(client.engine.removeImage({ image: 'busybox' })).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('must force'),
    });
    await client.engine.remove({ container: id });
    await expect(client.engine.removeImage({ image: 'nope' })).rejects.toMatchObject({ kind: 'NotFound', message: 'No such image: nope' });
  });

  itRoot('cancellation: an aborted follow ends at once with Canceled; a closed client fails calls with Unavailable', async () => {
    const { id } = await client.engine.create({ image: 'busybox', cmd: ['sleep', '60'] });
    await client.engine.start({ container: id });
    const ac = new AbortController();
    const it = client.engine.logs({ container: id, follow: true }, { signal: ac.signal });
    const done = (async () => {
      for await (const _ of it) void _;
    })();
    setTimeout(() => ac.abort(), 200);
    await expect(done).rejects.toMatchObject({ kind: 'Canceled' });
    const other = new Client({ address: `${f.dirs.address}.missing`, namespace: f.ns });
    await expect(other.engine.list({})).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining('cannot connect to berthd') });
    await client.engine.remove({ container: id, force: true });
  });
});
