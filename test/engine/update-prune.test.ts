/**
 * `update` (a running container's memory, CPU and pids limits change in its cgroup at once, a
 * stopped one's at its next start) and the prunes (containers not running, dangling images or
 * all unused ones, volumes on request), on a real berthd stack.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { busyboxEntries } from '../helpers/images';
import { layerTarStream } from '../helpers/oci-layer';
import { EngineFixture, until } from '../helpers/engine';
import { failure } from '../helpers/errors';
import { itRoot } from './it-root';

const f = new EngineFixture('engupdate');
beforeAll(async () => {
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 60_000);

const IMG = 'busybox';

/** A cgroup file of a process: v2's unified file, or v1's controller file (`v1` names it there). */
function cgroupValue(pid: number, v2: string, v1: [string, string]): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const unified = lines.find((l) => l.startsWith('0::'));
  if (existsSync('/sys/fs/cgroup/cgroup.controllers') && unified) return readFileSync(join('/sys/fs/cgroup', unified.slice(3), v2), 'utf8').trim();
  const line = lines.find((l) => l.split(':')[1]!.split(',').includes(v1[0]))!;
  return readFileSync(join('/sys/fs/cgroup', v1[0], line.split(':')[2]!, v1[1]), 'utf8').trim();
}

const memory = (pid: number) => cgroupValue(pid, 'memory.max', ['memory', 'memory.limit_in_bytes']);
const pids = (pid: number) => cgroupValue(pid, 'pids.max', ['pids', 'pids.max']);

describe('engine: update', () => {
  itRoot('update --memory/--pids-limit/--cpus changes a running container’s cgroup and its next start', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, memory: '64m', cmd: ['sleep', '1000'] });
    await f.engine.start(f.ctx, c.id);
    let pid = (await f.engine.inspect(f.ctx, c.id)).state.pid;
    expect(memory(pid)).toBe(String(64 * 1024 * 1024));
    expect(await f.engine.update(f.ctx, c.id, { memory: '96m', pidsLimit: 50, cpus: '0.5' })).toEqual({ warnings: [] });
    expect(memory(pid)).toBe(String(96 * 1024 * 1024));
    expect(pids(pid)).toBe('50');
    const h = (await f.engine.inspect(f.ctx, c.id)).hostConfig;
    expect([h.memory, h.pidsLimit, h.nanoCpus]).toEqual([96 * 1024 * 1024, 50, 5e8]);
    // The next start has them too (the stored spec changed with the record).
    await f.engine.stop(f.ctx, c.id, { timeout: 0 });
    await f.engine.update(f.ctx, c.id, { pidsLimit: 0 });
    await f.engine.start(f.ctx, c.id);
    pid = (await f.engine.inspect(f.ctx, c.id)).state.pid;
    expect(memory(pid)).toBe(String(96 * 1024 * 1024));
    expect(pids(pid)).toBe('max');
    expect(await failure(f.engine.update(f.ctx, c.id, {}))).toEqual(['InvalidArgument', 'you must provide one or more flags when using this command']);
    expect((await failure(f.engine.update(f.ctx, c.id, { memory: '1m' })))[1]).toContain('minimum memory limit');
    await f.engine.remove(f.ctx, c.id, { force: true });
    const rm = await f.engine.create(f.ctx, { image: IMG, autoRemove: true, cmd: ['true'] });
    expect(await failure(f.engine.update(f.ctx, rm.id, { restart: 'always' }))).toEqual([
      'InvalidArgument',
      'Restart policy cannot be updated because AutoRemove is enabled for the container',
    ]);
    await f.engine.remove(f.ctx, rm.id);
  });
});

describe('engine: prune', () => {
  itRoot('container prune removes exactly the containers that are not running; image and system prune the unused images and volumes', async () => {
    const running = await f.engine.create(f.ctx, { image: IMG, cmd: ['sleep', '1000'], labels: { keep: 'yes' } });
    await f.engine.start(f.ctx, running.id);
    const exited = await f.engine.create(f.ctx, { image: IMG, cmd: ['sh', '-c', 'echo x > /made'], volumes: ['/anon'] });
    await f.engine.start(f.ctx, exited.id);
    await f.engine.wait(f.ctx, exited.id);
    const created = await f.engine.create(f.ctx, { image: IMG, cmd: ['true'] });
    const labelled = await f.engine.create(f.ctx, { image: IMG, cmd: ['true'], labels: { keep: 'yes' } });
    expect((await f.engine.prune(f.ctx, { filters: { 'label!': ['keep=yes'] } })).deleted.sort()).toEqual([created.id, exited.id].sort());
    expect((await f.engine.list(f.ctx, { all: true })).map((c) => c.id).sort()).toEqual([running.id, labelled.id].sort());
    expect((await failure(f.engine.prune(f.ctx, { filters: { color: ['red'] } })))[1]).toBe("invalid filter 'color'");

    // A dangling image (an import without a reference) goes; busybox is in use and stays, also with --all.
    const dangling = await f.engine.importImage(f.ctx, layerTarStream({ entries: busyboxEntries().slice(0, 3) }));
    const tagged = await f.engine.importImage(f.ctx, Readable.from(layerTarStream({ entries: busyboxEntries().slice(0, 2) })), { reference: 'unused:1' });
    const images = await f.engine.pruneImages(f.ctx);
    expect(images.deleted).toEqual([dangling.name]);
    expect(images.spaceReclaimed).toBeGreaterThan(0);
    // system prune: the labelled container, then every image no container uses, then volumes.
    const sys = await f.engine.systemPrune(f.ctx, { all: true, volumes: true });
    expect(sys.containers.deleted).toEqual([labelled.id]);
    expect(sys.images.deleted).toEqual([tagged.name]);
    expect(sys.volumes!.volumesDeleted).toHaveLength(1); // the exited container's anonymous volume
    await f.engine.remove(f.ctx, running.id, { force: true });
    await until('busybox prunable', async () => ((await f.engine.pruneImages(f.ctx, { all: true })).deleted.length === 1 ? true : undefined));
  });
});
