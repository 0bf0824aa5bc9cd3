/**
 * berthd binds its socket before it opens the metadata DB and wires its slices (src/daemon/main.ts):
 * Version answers at once, every other call made meanwhile waits until wiring is done and then runs
 * on the real handler, and if wiring fails the waiting calls answer UNAVAILABLE and the socket goes.
 */
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { ConfigSchema } from '../../src/daemon/config';
import { startDaemon, type Daemon } from '../../src/daemon/main';
import type { Slice } from '../../src/daemon/slice';
import { SLICES } from '../../src/daemon/slices';
import { call, collect, nullLogger, rawClient, testDirs } from '../helpers/daemon';
import { WriteSession } from '../content/write-session';

/** A slice wired last that holds start-up until `release()` (or fails it with `fail()`). */
function gate(): { slice: Slice; release(): void; fail(e: Error): void } {
  let release!: () => void;
  let fail!: (e: Error) => void;
  const held = new Promise<void>((res, rej) => ((release = res), (fail = rej)));
  // fail() may come before start-up has reached this slice's wire() (on a loaded machine): the
  // rejection is then nobody's yet, and Node would report it as unhandled. wire() still returns it.
  held.catch(() => undefined);
  return { slice: { name: 'gate', requires: [], provides: [], plugins: () => [], wire: () => held }, release, fail };
}

async function socketUp(address: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      return await access(address);
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error(`no socket at ${address}`);
}

const settledWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise((r) => setTimeout(() => r(false), ms)),
  ]);

describe('berthd serves before its parts are open', () => {
  it('answers Version at once; a unary and a streaming call made meanwhile wait, then run on the real handlers', async () => {
    const dirs = await testDirs();
    const g = gate();
    const config = ConfigSchema.parse({ root: dirs.root, state: dirs.state, address: dirs.address, logLevel: 'error' });
    const starting = startDaemon(config, nullLogger, [...SLICES, g.slice]);
    let daemon: Daemon | undefined;
    const v = rawClient(dirs.address, 'containerd.services.version.v1.Version');
    const ns = rawClient(dirs.address, 'containerd.services.namespaces.v1.Namespaces');
    const content = rawClient(dirs.address, 'containerd.services.content.v1.Content');
    try {
      await socketUp(dirs.address);
      expect((await call(v, 'Version', {})).version).toMatch(/^berth-/);

      const created = call(ns, 'Create', { namespace: { name: 'early', labels: {} } });
      const listed = collect(content, 'List', {});
      // A bidirectional stream: its requests arrive before any handler reads them, and none is lost.
      const w = new WriteSession(content);
      const stat = w.send({ action: 'STAT', ref: 'early-ref' });
      const wrote = w.send({ action: 'WRITE', ref: 'early-ref', data: Buffer.from('early') });
      expect(await settledWithin(created, 300)).toBe(false);
      expect(await settledWithin(stat, 10)).toBe(false);
      expect(await settledWithin(listed, 10)).toBe(false);
      expect(await settledWithin(starting, 10)).toBe(false);

      g.release();
      daemon = await starting;
      expect((await created).namespace.name).toBe('early');
      expect(await listed).toEqual([]);
      expect(await stat).toMatchObject({ action: 'STAT', offset: '0' });
      expect(await wrote).toMatchObject({ action: 'WRITE', offset: '5' });
      w.stream.end();
      expect((await call(ns, 'Get', { name: 'early' })).namespace.name).toBe('early');
    } finally {
      for (const c of [v, ns, content]) c.close();
      g.release();
      await (daemon ?? (await starting.catch(() => undefined)))?.close();
      await rm(dirs.dir, { recursive: true, force: true });
    }
  });

  it('replaces a file left at the address by a dead daemon, and still answers Version before wiring', async () => {
    const dirs = await testDirs();
    await mkdir(dirname(dirs.address), { recursive: true });
    await writeFile(dirs.address, 'stale');
    const g = gate();
    const config = ConfigSchema.parse({ root: dirs.root, state: dirs.state, address: dirs.address, logLevel: 'error' });
    const starting = startDaemon(config, nullLogger, [...SLICES, g.slice]);
    const v = rawClient(dirs.address, 'containerd.services.version.v1.Version');
    try {
      let version: { version?: string } | undefined;
      for (let i = 0; i < 500 && !version; i++) version = await call(v, 'Version', {}).catch(() => new Promise((r) => setTimeout(() => r(undefined), 10)));
      expect(version?.version).toMatch(/^berth-/);
      expect(await settledWithin(starting, 10)).toBe(false);
    } finally {
      v.close();
      g.release();
      await (await starting).close();
      await rm(dirs.dir, { recursive: true, force: true });
    }
  });

  it('when wiring fails, the waiting calls answer UNAVAILABLE, start-up rejects and the socket is removed', async () => {
    const dirs = await testDirs();
    const g = gate();
    const config = ConfigSchema.parse({ root: dirs.root, state: dirs.state, address: dirs.address, logLevel: 'error' });
    const starting = startDaemon(config, nullLogger, [...SLICES, g.slice]);
    const ns = rawClient(dirs.address, 'containerd.services.namespaces.v1.Namespaces');
    try {
      await socketUp(dirs.address);
      const listed = call(ns, 'List', {});
      expect(await settledWithin(listed, 200)).toBe(false);
      g.fail(new Error('disk on fire'));
      await expect(starting).rejects.toThrow('disk on fire');
      const err = (await listed.then(
        () => undefined,
        (e: ServiceError) => e,
      ))!;
      expect(err.code).toBe(14); // UNAVAILABLE
      expect(err.details).toContain('disk on fire');
      await expect(access(dirs.address)).rejects.toThrow();
    } finally {
      ns.close();
      await rm(dirs.dir, { recursive: true, force: true });
    }
  });
});
