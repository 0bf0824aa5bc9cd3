/**
 * The engine against a real berthd stack in this process: images built in the test go straight
 * into the content store (no registry, no ctr), each test file uses its own namespace, and the
 * teardown checks that nothing is left (containers, processes, cgroups, mounts).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background, type Ctx } from '../../src/core/context';
import type { LocalEngine } from '../../src/engine';
import type { Part } from '../../src/daemon/slice';
import { CONTENT } from '../../src/daemon/slices/content';
import { ENGINE } from '../../src/daemon/slices/engine';
import { IMAGES } from '../../src/daemon/slices/metadata';
import { cgroupBaseDirs } from './cleanup';
import type { Config } from '../../src/daemon/config';
import { startInProcess, testDirs, type TestDirs } from './daemon';
import { removeTestNetworking, testNetworkConfig } from './net';
import { busyboxImage } from './images';
import { blobPath, writeOciImage, type BuiltImage, type ImageSpec } from './oci';

export function mountLines(): Set<string> {
  return new Set(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').slice(3, 5).join(' ')),
  );
}

export class EngineFixture {
  dirs!: TestDirs;
  stop!: () => Promise<void>;
  engine!: LocalEngine;
  ctx!: Ctx;
  work!: string;
  readonly ns: string;
  private mountsBefore = new Set<string>();
  private daemon!: Awaited<ReturnType<typeof startInProcess>>['daemon'];

  constructor(name: string) {
    this.ns = `${name}-${process.pid}`;
  }

  /** `overrides`: berthd's config (e.g. usernsRemap). */
  async setup(dirs?: TestDirs, overrides: Partial<Config> = {}): Promise<void> {
    this.mountsBefore = mountLines();
    this.dirs = dirs ?? (await testDirs('berth-engine-'));
    this.work ??= await mkdtemp(join(tmpdir(), 'berth-engine-work-'));
    const d = await startInProcess(overrides, this.dirs);
    this.daemon = d.daemon;
    this.stop = () => d.daemon.close();
    this.engine = d.daemon.parts.get(ENGINE);
    this.ctx = background(this.ns);
  }

  part<T>(p: Part<T>): T {
    return this.daemon.parts.get(p);
  }

  /** Builds an image and puts its blobs and record into berthd (as a pull or import would). */
  async addImage(spec: ImageSpec = busyboxImage()): Promise<BuiltImage> {
    const img = await writeOciImage(join(this.work, 'layout'), spec);
    const content = this.part(CONTENT);
    // The manifest references its config and layers for garbage collection, as a pull labels it.
    const refs: Record<string, string> = { 'containerd.io/gc.ref.content.config': img.config.digest };
    img.layers.forEach((l, i) => (refs[`containerd.io/gc.ref.content.l.${i}`] = l.digest));
    const blobs: Array<[string, Record<string, string>]> = [
      [img.config.digest, {}],
      ...img.layers.map((l): [string, Record<string, string>] => [l.digest, {}]),
      [img.manifest.digest, refs],
    ];
    for (const [digest, labels] of blobs) {
      const data = await readFile(blobPath(img.layoutDir, digest));
      const w = await content.writer(this.ctx, { ref: `test-${digest}`, expected: digest });
      try {
        await w.write(data);
        await w.commit(data.length, digest, labels);
      } catch (e) {
        await w.close();
        if ((e as { kind?: string }).kind !== 'AlreadyExists') throw e;
      }
    }
    const images = this.part(IMAGES);
    const image = { name: spec.name, labels: {}, target: { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size } };
    await images.create(this.ctx, image).catch(() => images.update(this.ctx, image));
    return img;
  }

  /** Removes every container of the namespace, stops berthd, and fails on anything left. */
  async teardown(opts: { keepDirs?: boolean } = {}): Promise<void> {
    for (const c of await this.engine.list(this.ctx, { all: true }).catch(() => []))
      await this.engine.remove(this.ctx, c.id, { force: true }).catch(() => undefined);
    await this.engine.pruneNetworks(this.ctx).catch(() => undefined);
    const leftovers = this.leaks();
    await this.stop();
    removeTestNetworking(testNetworkConfig(this.dirs.dir));
    const parents = cgroupBaseDirs()
      .map((d) => join(d, 'berth', this.ns))
      .filter((p) => existsSync(p));
    for (const p of parents) for (const c of readdirSync(p)) if (statSync(join(p, c)).isDirectory()) leftovers.push(`cgroup ${join(p, c)}`);
    if (!opts.keepDirs) {
      await rm(this.dirs.dir, { recursive: true, force: true });
      await rm(this.work, { recursive: true, force: true });
    }
    for (const d of parents) rmdirSync(d, { recursive: false } as never);
    if (leftovers.length) throw new Error(`engine test left things behind: ${leftovers.join('; ')}`);
  }

  /** Processes in this namespace's cgroups and mounts under the test dir. */
  leaks(): string[] {
    return namespaceLeaks(this.ns, this.dirs.dir, this.mountsBefore);
  }
}

/** Processes in namespace `ns`'s cgroups, and mounts under `dir` that were not in `mountsBefore`. */
export function namespaceLeaks(ns: string, dir: string, mountsBefore: Set<string>): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${e}/cgroup`, 'utf8').includes(`/berth/${ns}/`))
        out.push(`process ${e} ${readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      /* gone */
    }
  }
  for (const m of mountLines()) if (!mountsBefore.has(m) && m.includes(dir)) out.push(`mount ${m}`);
  return out;
}

/** A cgroup file of a process: v2's unified file, or v1's controller file (`v1` names it there). */
export function cgroupValue(pid: number, v2: string, v1: [string, string]): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const unified = lines.find((l) => l.startsWith('0::'));
  if (existsSync('/sys/fs/cgroup/cgroup.controllers') && unified) return readFileSync(join('/sys/fs/cgroup', unified.slice(3), v2), 'utf8').trim();
  const line = lines.find((l) => l.split(':')[1]!.split(',').includes(v1[0]))!;
  return readFileSync(join('/sys/fs/cgroup', v1[0], line.split(':')[2]!, v1[1]), 'utf8').trim();
}

/** Collects a stream session's output until it ends. */
export async function drain(
  events: AsyncIterable<{ kind: string; data?: Buffer; exitCode?: number }>,
): Promise<{ stdout: string; stderr: string; exitCode?: number; detached: boolean }> {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  let detached = false;
  for await (const e of events) {
    if (e.kind === 'stdout') stdout += e.data!.toString();
    else if (e.kind === 'stderr') stderr += e.data!.toString();
    else if (e.kind === 'exit') exitCode = e.exitCode;
    else if (e.kind === 'detached') detached = true;
  }
  return { stdout, stderr, exitCode, detached };
}

export { until } from './until';
