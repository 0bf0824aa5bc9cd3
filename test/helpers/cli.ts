/**
 * The `berth` binary as a user runs it (`node dist/cli/bin.js`: the built file, launched through
 * node because bin.js has no run bit in a checkout), against a berthd child process of the test's
 * own. Images go in through the client library (blobs by Content/Write, the record by
 * Images/Create), as an embedding program would put them.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/client';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';
import { cgroupBaseDirs } from './cleanup';
import { DaemonProcess, REPO, testDirs, type TestDirs } from './daemon';
import { busyboxImage } from './images';
import { blobPath, writeOciImage, type BuiltImage, type ImageSpec } from './oci';

export const BERTH_BIN = join(REPO, 'dist', 'cli', 'bin.js');

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Writes one blob through the client library (Content/Write: the data, then a commit that checks the digest). */
export async function writeBlob(client: Client, digest: string, data: Buffer, labels: Record<string, string> = {}): Promise<void> {
  if (
    await client.content.info({ digest }).then(
      () => true,
      () => false,
    )
  )
    return;
  const call = client.content.write();
  const replies = call[Symbol.asyncIterator]();
  const ref = `test-${digest}`;
  await call.send({ action: 'WRITE', ref, offset: '0', data });
  await replies.next();
  await call.send({ action: 'COMMIT', ref, offset: String(data.length), total: String(data.length), expected: digest, labels });
  await replies.next();
  await call.end();
  await call.done;
}

/** Builds an image in `work` and puts it into berthd through the client library. */
export async function importImage(client: Client, work: string, spec: ImageSpec = busyboxImage()): Promise<BuiltImage> {
  const img = await writeOciImage(join(work, 'layout'), spec);
  const refs: Record<string, string> = { 'containerd.io/gc.ref.content.config': img.config.digest };
  img.layers.forEach((l, i) => (refs[`containerd.io/gc.ref.content.l.${i}`] = l.digest));
  for (const d of [img.config.digest, ...img.layers.map((l) => l.digest)]) await writeBlob(client, d, await readFile(blobPath(img.layoutDir, d)));
  await writeBlob(client, img.manifest.digest, await readFile(blobPath(img.layoutDir, img.manifest.digest)), refs);
  const image = { name: spec.name, target: { media_type: img.manifest.mediaType, digest: img.manifest.digest, size: String(img.manifest.size) } };
  await client.images.create({ image }).catch(() => client.images.update({ image }));
  return img;
}

export class CliFixture {
  dirs!: TestDirs;
  daemon!: DaemonProcess;
  client!: Client;
  /** A scratch dir of the test file's own (removed at the end). */
  work!: string;
  /** The busybox image `use()` put in. */
  image!: BuiltImage;
  readonly ns: string;

  /** A fixture for a whole test file: berthd and the busybox image before its tests, the checks and cleanup after. */
  static use(name: string): CliFixture {
    const f = new CliFixture(name);
    beforeAll(async () => {
      f.work = await mkdtemp(join(tmpdir(), 'berth-cli-work-'));
      await f.setup();
      f.image = await importImage(f.client, f.work);
    }, 120_000);
    afterAll(async () => {
      await f.teardown();
      if (f.work) await rm(f.work, { recursive: true, force: true });
    }, 60_000);
    return f;
  }

  constructor(name: string) {
    this.ns = `${name}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  }

  get env(): NodeJS.ProcessEnv {
    return { ...withDeferredExtraCa(process.env), BERTH_ADDRESS: this.dirs.address, BERTH_NAMESPACE: this.ns };
  }

  async setup(): Promise<void> {
    this.dirs = await testDirs('berth-cli-');
    this.daemon = new DaemonProcess(this.dirs);
    await this.daemon.start();
    this.client = new Client({ address: this.dirs.address, namespace: this.ns });
  }

  /** Runs `berth ARGS` to its end. */
  berth(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
    return run(process.execPath, [BERTH_BIN, ...args], { env: opts.env ?? this.env }, opts.input, opts.timeoutMs ?? 60_000);
  }

  /** Runs `berth ARGS` and fails the test unless it exits 0; its stdout. */
  async ok(args: string[], opts: { input?: string | Buffer } = {}): Promise<string> {
    const r = await this.berth(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async teardown(): Promise<void> {
    const leftovers: string[] = [];
    if (this.client) {
      for (const c of (await this.client.engine.list({ all: true }).catch(() => ({ containers: [] }))).containers)
        await this.client.engine.remove({ container: c.id, force: true }).catch(() => undefined);
      this.client.close();
    }
    for (const e of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        if (readFileSync(`/proc/${e}/cgroup`, 'utf8').includes(`/berth/${this.ns}/`)) leftovers.push(`process ${e}`);
      } catch {
        /* gone */
      }
    }
    await this.daemon?.stop();
    this.daemon?.removeNetworking();
    for (const p of cgroupBaseDirs()
      .map((d) => join(d, 'berth', this.ns))
      .filter((p) => existsSync(p))) {
      for (const c of readdirSync(p)) if (statSync(join(p, c)).isDirectory()) leftovers.push(`cgroup ${join(p, c)}`);
      rmdirSync(p);
    }
    if (this.dirs) await rm(this.dirs.dir, { recursive: true, force: true });
    if (leftovers.length) throw new Error(`cli test left things behind: ${leftovers.join('; ')}`);
  }
}

export function run(cmd: string, args: string[], opts: SpawnOptions, input?: string | Buffer, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish in ${timeoutMs} ms; stdout ${stdout} stderr ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that exits without reading its stdin (`--help`) can close the pipe before the
    // end is written: EPIPE there is not the command's failure (its exit code and output are).
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input ?? '');
  });
}
