/**
 * A pull in a berthd that is SIGKILLed mid-blob resumes in the next berthd on the same root:
 * finished blobs are not downloaded again and the interrupted one continues from its ingest's
 * offset on disk (bytes counted at a proxy). berthd runs in a child node process (the daemon
 * in process, driven through its 'transfer' part: the gRPC Transfer service is not built yet).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';
import { REPO, testDirs, type TestDirs } from '../helpers/daemon';
import { pidsWithCmdline, removeDaemonDir } from '../helpers/mounts';
import { pseudoRandom, writeOciImage, type BuiltImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo')];
const itRoot = itWith(...NEEDS);
const dist = (p: string) => JSON.stringify(join(REPO, 'dist', p));

/** A node process that starts berthd on `dirs` and pulls `ref`; prints one JSON line with the outcome. */
function pullInChild(
  dirs: TestDirs,
  ref: string,
): { child: ChildProcess; result: Promise<{ ok: boolean; fetched?: number; kind?: string; message?: string }> } {
  const script = `
const { startDaemon } = require(${dist('daemon/main.js')});
const { ConfigSchema } = require(${dist('daemon/config.js')});
const { background } = require(${dist('core/context.js')});
const { nullLogger } = require(${dist('core/logger.js')});
const { TRANSFER } = require(${dist('daemon/slices/transfer.js')});
(async () => {
  const d = await startDaemon(ConfigSchema.parse({ root: ${JSON.stringify(dirs.root)}, state: ${JSON.stringify(dirs.state)}, address: ${JSON.stringify(dirs.address)}, logLevel: 'error' }), nullLogger);
  let out;
  try {
    const r = await d.parts.get(TRANSFER).pull(background('crash', { log: nullLogger }), { ref: ${JSON.stringify(ref)} });
    out = { ok: true, fetched: r.fetched };
  } catch (e) {
    out = { ok: false, kind: e.kind, message: e.message };
  }
  await d.close();
  process.stdout.write(JSON.stringify(out) + '\\n');
})();`;
  const child = spawn(process.execPath, [...BERTHD_NODE_FLAGS, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const result = new Promise<{ ok: boolean; fetched?: number; kind?: string; message?: string }>((resolve, reject) =>
    child.on('exit', (code, signal) => {
      if (out.trim()) resolve(JSON.parse(out.trim()));
      else reject(new Error(`pull child exited ${code ?? signal}: ${err}`));
    }),
  );
  result.catch(() => undefined);
  return { child, result };
}

describe('pull across a berthd crash', () => {
  let reg: Registry;
  let proxy: RegistryProxy;
  let work: string;
  let dirs: TestDirs;
  let img: BuiltImage;

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    reg = await startRegistry();
    proxy = await startRegistryProxy(reg);
    work = await mkdtemp(join(tmpdir(), 'berth-transfer-crash-'));
    img = await writeOciImage(join(work, 'layout'), {
      name: 'crash/app:1',
      layers: [
        { entries: [{ path: 'first', type: 'file', content: pseudoRandom(200_000, 21) }], gzipLevel: 1 },
        { entries: [{ path: 'big', type: 'file', content: pseudoRandom(4 << 20, 22) }], gzipLevel: 1 },
      ],
    });
    await pushImage(reg, img.layoutDir, img.refName, 'crash/app:1');
    dirs = await testDirs('berth-crash-');
  }, 120_000);
  afterAll(async () => {
    if (dirs) await removeDaemonDir(dirs.dir);
    await proxy?.stop();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  itRoot('SIGKILL mid-blob, then the next berthd downloads only the rest of that blob', async () => {
    const bigLayer = img.layers[1]!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) => (r.path.endsWith(bigLayer.digest) && !r.headers.range ? { holdAfter: 2 << 20, until: gate } : undefined);
    const first = pullInChild(dirs, `${proxy.host}/crash/app:1`);
    const served = () => proxy.log.find((g) => g.path.endsWith(bigLayer.digest))?.bytes ?? 0;
    const firstDone = () => proxy.log.some((g) => g.path.endsWith(img.layers[0]!.digest) && g.end !== undefined);
    for (let i = 0; i < 600 && (served() < 2 << 20 || !firstDone()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(served()).toBe(2 << 20);
    await new Promise((r) => setTimeout(r, 500)); // let berthd write what it received and commit the first layer
    first.child.kill('SIGKILL');
    await first.result.catch(() => undefined);
    release();
    for (const pid of pidsWithCmdline(dirs.dir)) process.kill(pid, 'SIGKILL'); // layer staging helpers of the dead berthd
    proxy.log.length = 0;
    proxy.onRequest = undefined;

    const second = await pullInChild(dirs, `${proxy.host}/crash/app:1`).result;
    expect(second).toEqual({ ok: true, fetched: 1 });
    const gets = proxy.log.filter((g) => g.method === 'GET' && g.path.includes('/blobs/'));
    expect(gets.map((g) => g.path.split('/').pop())).toEqual([bigLayer.digest]);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[0]!.headers.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(2 << 20);
    expect(proxy.bytesFor(/\/blobs\//)).toBe(bigLayer.size - from);
  });
});
