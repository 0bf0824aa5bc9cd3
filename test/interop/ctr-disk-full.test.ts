/**
 * Disk full: berthd's root on a 60 MiB tmpfs, a ~85 MB gzip image (generated, 6 layers). A pull
 * fails with RESOURCE_EXHAUSTED naming the lack of space (berthd keeps a margin free so its
 * metadata can still commit: core/node/space.ts), berthd stays up, and when the pull's lease
 * goes (ctr deletes its own on failure; `ctr leases rm --sync`; the lease expiring) all the
 * space comes back at once: partial ingests aborted with their lease, layers extracted while
 * they arrived (diff-staging) removed with the ingest or blob they came from, no snapshot left.
 * containerd, for comparison, leaves 92 KiB in use within 5 s.
 *
 * `berth pull` goes through berthd's Transfer service (the registry client in the daemon): the
 * same error and the same clean-up, with the pull's own lease removed by the daemon.
 *
 * The explicit-lease cases write through the Content API (grpc-js, `containerd-lease` header)
 * as any client would, ctr or the Transfer service: the mechanism is the lease, not ctr.
 */
import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { berthCli } from '../helpers/berth-cli';
import { ctr, run } from '../helpers/ctr';
import { nsMetadata, rawClient, startProcess, type TestDirs } from '../helpers/daemon';
import { largeImage } from '../helpers/large-image';
import { blobPath, type BuiltImage, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { WriteSession } from '../content/write-session';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('ctr', 'docker-registry', 'skopeo', 'mount', 'umount', 'du')];
const itRoot = itWith(...NEEDS);
const MiB = 1 << 20;
const RESOURCE_EXHAUSTED = 8;

describe('disk full: berthd root on a 60 MiB tmpfs', () => {
  let work: string;
  let mnt: string;
  let mounted = false;
  let registry: Registry | undefined;
  let berth: Awaited<ReturnType<typeof startProcess>> | undefined;
  let img: BuiltImage;
  let layout: string;
  let ref: string;

  const used = () => {
    const s = statfsSync(mnt);
    return (s.blocks - s.bfree) * s.bsize;
  };
  const q = (args: string[], ns = 'full') => ctr(berth!.dirs.address, args, { namespace: ns, timeoutMs: 60000 });
  const lines = async (args: string[], ns = 'full') => (await q(args, ns)).stdout.split('\n').slice(1).filter(Boolean);
  /** Polls until `used()` is under `max` bytes; returns how long that took (ms) or throws after `ms`. */
  const spaceBack = async (max: number, ms: number): Promise<number> => {
    const t0 = Date.now();
    while (used() > max) {
      if (Date.now() - t0 > ms) throw new Error(`still ${(used() / MiB).toFixed(1)} MiB used after ${ms} ms: ${await diskReport()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Date.now() - t0;
  };
  const diskReport = async () =>
    (await run('du', ['-sk', ...(await readdir(join(mnt, 'root')).catch(() => [] as string[])).map((d) => join(mnt, 'root', d))])).stdout;
  const alive = async () => {
    expect(berth!.proc.child!.exitCode).toBeNull();
    expect((await q(['version'])).code).toBe(0);
  };
  /** No ingest, staged tree or lease left, and berthd still answers. */
  const nothingLeft = async () => {
    expect(await lines(['content', 'active'])).toEqual([]);
    expect(await stagedEntries()).toBe(0);
    expect(await lines(['leases', 'ls'])).toEqual([]);
    await alive();
  };
  /** Within 5 s: the space back, and no ingest, snapshot, blob, staged tree or image left. */
  const allSpaceBack = async () => {
    await spaceBack(1 * MiB, 5000);
    expect(await lines(['content', 'active'])).toEqual([]);
    expect(await lines(['snapshots', 'ls'])).toEqual([]);
    expect((await q(['content', 'ls', '-q'])).stdout.trim()).toBe('');
    expect(await stagedEntries()).toBe(0);
    expect((await q(['images', 'ls', '-q'])).stdout.trim()).toBe('');
    await alive();
  };
  const stagedEntries = async () => (await readdir(join(mnt, 'root', 'diff-staging')).catch(() => [] as string[])).length;

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    work = await mkdtemp(join(tmpdir(), 'berth-diskfull-'));
    mnt = join(work, 'tmpfs');
    await mkdir(mnt);
    const m = await run('mount', ['-t', 'tmpfs', '-o', 'size=60m,mode=0700', 'tmpfs', mnt]);
    if (m.code !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
    mounted = true;
    layout = join(work, 'layout');
    // 128 MiB of payload, half incompressible: ~85 MB of gzip layers, more than the whole disk.
    img = await writeOciImage(layout, largeImage({ name: 'docker.io/library/large:full', totalMiB: 128, dataLayers: 4, filesPerLayer: 50, gzipLevel: 1 }));
    registry = await startRegistry();
    ref = await pushImage(registry, layout, img.refName, 'library/large:full', { timeoutMs: 180000 });
    const dirs: TestDirs = { dir: mnt, root: join(mnt, 'root'), state: join(mnt, 'state'), address: join(mnt, 'berthd.sock') };
    berth = await startProcess(dirs);
  }, 300000);

  afterAll(async () => {
    await berth?.stop();
    await registry?.stop();
    if (mounted) await run('umount', [mnt]);
    if (work) await rm(work, { recursive: true, force: true });
  }, 60000);

  itRoot('the image is bigger than the disk (the test is not vacuous)', () => {
    expect(img.layers.reduce((a, l) => a + l.size, 0)).toBeGreaterThan(statfsSync(mnt).blocks * statfsSync(mnt).bsize);
  });

  itRoot(
    'ctr images pull fails with an out-of-space error (RESOURCE_EXHAUSTED), berthd stays up, and the space comes back within 5 s',
    async () => {
      const logFrom = berth!.proc.stderr.length;
      const r = await q(['images', 'pull', '--plain-http', ref]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no space left on device: [0-9.]+ MiB free on the filesystem of .*, and berthd keeps [0-9.]+ MiB free for its metadata/);
      // ctr 1.6 prints a status it has no errdefs class for as "unknown": the daemon's log has the code.
      expect(berth!.proc.stderr.slice(logFrom)).toMatch(
        new RegExp(`"method":"Content/Write","code":${RESOURCE_EXHAUSTED},"err":"[^"]*no space left on device`),
      );
      await alive();
      // ctr deleted its lease on the way out; any left over (it may have been too quick) goes here.
      for (const id of (await q(['leases', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) {
        const rm = await q(['leases', 'rm', '--sync', id]);
        expect({ id, code: rm.code, stderr: rm.stderr }).toEqual({ id, code: 0, stderr: '' });
      }
      await allSpaceBack();
    },
    180000,
  );

  itRoot(
    'berth pull (the Transfer service) fails with the same out-of-space error, berthd stays up, and the space comes back within 5 s',
    async () => {
      const r = await berthCli(berth!.dirs.address)(['pull', ref], { namespace: 'full', timeoutMs: 180000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no space left on device: [0-9.]+ MiB free on the filesystem of .*, and berthd keeps [0-9.]+ MiB free for its metadata/);
      await alive();
      // The daemon's pull removes its own lease when it fails: nothing for the user to clean up.
      expect(await lines(['leases', 'ls'])).toEqual([]);
      await allSpaceBack();
    },
    240000,
  );

  /**
   * Streams layer blobs (by index in the image) into `layer-<digest>` ingests under `md`, each up to
   * `maxBytes` (default: all of it), never committing; stops at the first failed write and
   * returns its error.
   */
  async function writeLayers(md: grpc.Metadata, which: number[], maxBytes = Infinity): Promise<grpc.ServiceError | undefined> {
    const client = rawClient(berth!.dirs.address, 'containerd.services.content.v1.Content');
    try {
      for (const l of which.map((i) => img.layers[i]!)) {
        const s = new WriteSession(client, md);
        const fh = await open(blobPath(layout, l.digest), 'r');
        try {
          const req = { ref: `layer-${l.digest}`, expected: l.digest, total: l.size };
          await s.send({ action: 'STAT', ...req });
          for (let off = 0; off < Math.min(l.size, maxBytes);) {
            const buf = Buffer.alloc(Math.min(MiB, l.size - off));
            await fh.read(buf, 0, buf.length, off);
            await s.send({ action: 'WRITE', ...req, offset: off, data: buf });
            off += buf.length;
          }
        } catch (e) {
          return e as grpc.ServiceError;
        } finally {
          await fh.close();
          await s.close().catch(() => undefined);
        }
      }
      return undefined;
    } finally {
      client.close();
    }
  }

  /** Waits until berthd logged that the staging job of `digest` finished (the debug log). */
  async function stagingDone(digest: string, logFrom: number): Promise<void> {
    const t0 = Date.now();
    while (
      !berth!.proc.stderr
        .slice(logFrom)
        .split('\n')
        .some((l) => l.includes('"layer staging: done"') && l.includes(digest))
    ) {
      if (Date.now() - t0 > 60000) throw new Error(`staging of ${digest} did not finish`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Removes a lease a failed test left behind (its ingests would fill the next test's disk). */
  async function dropLease(id: string): Promise<void> {
    if ((await q(['leases', 'ls', '-q'])).stdout.split('\n').includes(id)) await q(['leases', 'rm', '--sync', id]);
  }

  itRoot(
    'an explicit lease: ingests written under it until the disk is full (RESOURCE_EXHAUSTED) all go at once with `ctr leases rm --sync`',
    async () => {
      const lease = (await q(['leases', 'create'])).stdout.trim().split(/\s+/)[0]!;
      expect(lease).toBeTruthy();
      try {
        const err = await writeLayers(nsMetadata('full', lease), [1, 2, 3, 4]);
        expect(err?.code).toBe(RESOURCE_EXHAUSTED);
        expect(err?.details).toMatch(/no space left on device/);
        await alive();
        // What the lease holds now: the ingests written (the one that ran into the reserve partial;
        // the extractions following them take space too, and one that ran into it removed its tree).
        expect((await lines(['content', 'active'])).length).toBeGreaterThan(0);
        expect(used()).toBeGreaterThan(20 * MiB);
        const rm = await q(['leases', 'rm', '--sync', lease]);
        expect({ code: rm.code, stderr: rm.stderr }).toEqual({ code: 0, stderr: '' });
        expect(await spaceBack(1 * MiB, 5000)).toBeLessThan(5000);
        await nothingLeft();
      } finally {
        await dropLease(lease);
      }
    },
    180000,
  );

  itRoot(
    'a lease that expires gives its ingests and what was staged from them back when it expires',
    async () => {
      const lease = (await q(['leases', 'create', '--expires', '15s'])).stdout.trim().split(/\s+/)[0]!;
      const t0 = Date.now();
      try {
        const logFrom = berth!.proc.stderr.length;
        const md = nsMetadata('full', lease);
        // The small base layer complete (its extraction finishes and waits for an Apply), then 10 MiB
        // of a data layer (its extraction waits for more).
        expect(await writeLayers(md, [0])).toBeUndefined();
        await stagingDone(img.layers[0]!.digest, logFrom);
        expect(await writeLayers(md, [1], 10 * MiB)).toBeUndefined();
        expect((await lines(['content', 'active'])).length).toBe(2);
        expect(await stagedEntries()).toBe(2);
        expect(used()).toBeGreaterThan(10 * MiB);
        expect(Date.now() - t0).toBeLessThan(15000); // still before the expiry
        await spaceBack(1 * MiB, 15000 - (Date.now() - t0) + 5000);
        expect(Date.now() - t0).toBeGreaterThan(14000); // not before it either
        await nothingLeft();
      } finally {
        await dropLease(lease);
      }
    },
    120000,
  );
});
