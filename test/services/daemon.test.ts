import { stat, writeFile, rm, access } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BERTHD_BIN, DaemonProcess, testDirs, rawClient, call, nsMetadata, type TestDirs } from '../helpers/daemon';
import { run } from '../helpers/ctr';

const VERSION = 'containerd.services.version.v1.Version';

async function exists(p: string) {
  return access(p).then(
    () => true,
    () => false,
  );
}

function exitOf(p: DaemonProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const c = p.child!;
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve({ code: c.exitCode, signal: c.signalCode });
  return new Promise((r) => c.once('exit', (code, signal) => r({ code, signal })));
}

describe('berthd process', () => {
  let dirs: TestDirs;
  const procs: DaemonProcess[] = [];
  beforeEach(async () => {
    dirs = await testDirs();
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill();
    await rm(dirs.dir, { recursive: true, force: true });
  });
  async function start(d = dirs, args: string[] = []) {
    const p = new DaemonProcess(d, args);
    procs.push(p);
    await p.start();
    return p;
  }

  it('creates root 0700 and the socket 0660; SIGTERM exits 0 and removes the socket', async () => {
    const p = await start();
    expect((await stat(dirs.root)).mode & 0o777).toBe(0o700);
    const sock = await stat(dirs.address);
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o660);
    const c = rawClient(dirs.address, VERSION);
    expect((await call(c, 'Version', {})).version).toMatch(/^berth-/);
    c.close();
    const exited = exitOf(p);
    p.child!.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await exists(dirs.address)).toBe(false);
  });

  it('SIGTERM with an open events subscription still exits 0', async () => {
    const p = await start();
    const ev = rawClient(dirs.address, 'containerd.services.events.v1.Events');
    const stream = (ev as any).Subscribe({ filters: [] }, nsMetadata()) as grpc.ClientReadableStream<unknown>;
    const ended = new Promise<void>((r) => {
      stream.on('error', () => r());
      stream.on('end', () => r());
    });
    // Publish once so we know the subscription is live before signalling.
    const got = new Promise((r) => stream.once('data', r));
    const { packAny } = await import('../../src/api/proto');
    await call(ev, 'Publish', { topic: '/probe', event: packAny('containerd.events.NamespaceCreate', { name: 'p' }) });
    await got;
    const exited = exitOf(p);
    p.child!.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    await ended;
    ev.close();
  });

  it('SIGINT is a clean shutdown too', async () => {
    const p = await start();
    const exited = exitOf(p);
    p.child!.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await exists(dirs.address)).toBe(false);
  });

  it('a second daemon on the same root fails clearly and leaves the first one serving', async () => {
    await start();
    for (const address of [join(dirs.dir, 'other.sock'), dirs.address]) {
      const r = await run(process.execPath, [BERTHD_BIN, '--root', dirs.root, '--state', dirs.state, '--address', address], { timeoutMs: 20000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/failed to start/);
      expect(r.stderr).toMatch(/locked by another berthd/);
      const c = rawClient(dirs.address, VERSION);
      expect((await call(c, 'Version', {})).version).toMatch(/^berth-/);
      c.close();
    }
    expect(await exists(join(dirs.dir, 'other.sock'))).toBe(false);
  });

  it('logs structured JSON lines on stderr', async () => {
    const p = await start();
    const c = rawClient(dirs.address, VERSION);
    await call(c, 'Version', {});
    c.close();
    const exited = exitOf(p);
    p.child!.kill('SIGTERM');
    await exited;
    const lines = p.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) {
      const rec = JSON.parse(l);
      expect(typeof rec.time).toBe('string');
      expect(['debug', 'info', 'warn', 'error']).toContain(rec.level);
      expect(typeof rec.msg).toBe('string');
    }
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(expect.arrayContaining(['berthd serving', 'berthd stopped']));
  });

  it('refuses a config file with a bad field, naming it', async () => {
    const cfg = join(dirs.dir, 'config.json');
    const base = [BERTHD_BIN, '--root', dirs.root, '--state', dirs.state, '--address', dirs.address, '--config', cfg];
    await writeFile(cfg, JSON.stringify({ logLevel: 'loud' }));
    let r = await run(process.execPath, base, { timeoutMs: 20000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/logLevel/);
    await writeFile(cfg, JSON.stringify({ noSuchField: 1 }));
    r = await run(process.execPath, base, { timeoutMs: 20000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/noSuchField/);
    await writeFile(cfg, '{not json');
    r = await run(process.execPath, base, { timeoutMs: 20000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(cfg);
    expect(await exists(dirs.address)).toBe(false);
  });

  it('rejects an unknown flag with usage and exit 2', async () => {
    const r = await run(process.execPath, [BERTHD_BIN, '--bogus'], { timeoutMs: 20000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: berthd/);
  });
});
