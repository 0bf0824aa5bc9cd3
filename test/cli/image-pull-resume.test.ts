/**
 * An interrupted `berth pull` (through the Transfer service) resumes: when the CLI is killed
 * mid-blob (the client is gone: berthd cancels the transfer) and when berthd is SIGKILLed
 * mid-blob and started again on the same root, the next `berth pull` downloads neither the
 * finished layer nor the received part of the interrupted one again (bytes counted at a proxy).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthCli } from '../helpers/berth-cli';
import { BERTH_BIN } from '../helpers/cli';
import { DaemonProcess, testDirs, type TestDirs } from '../helpers/daemon';
import { pidsWithCmdline, removeDaemonDir } from '../helpers/mounts';
import { pseudoRandom, writeOciImage, type BuiltImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo')];
const itRoot = itWith(...NEEDS);
const HELD = 2 << 20;

describe('berth pull resumes after an interruption', () => {
  let reg: Registry;
  let proxy: RegistryProxy;
  let work: string;
  let dirs: TestDirs;
  let daemon: DaemonProcess;
  let seed = 40;

  /** A fresh two-layer image (content is shared across namespaces: each case needs bytes no case fetched). */
  const freshImage = async (): Promise<BuiltImage & { ref: string }> => {
    const n = ++seed;
    const img = await writeOciImage(join(work, 'layout'), {
      name: `resume/app:${n}`,
      layers: [
        { entries: [{ path: 'first', type: 'file', content: pseudoRandom(200_000, n) }], gzipLevel: 1 },
        { entries: [{ path: 'big', type: 'file', content: pseudoRandom(4 << 20, n + 1000) }], gzipLevel: 1 },
      ],
    });
    await pushImage(reg, img.layoutDir, img.refName, `resume/app:${n}`);
    return { ...img, ref: `${proxy.host}/resume/app:${n}` };
  };

  /** Starts `berth pull ref` with the big layer held after HELD bytes; resolves once berthd holds the first layer and HELD bytes of the big one. */
  const startHeldPull = async (img: BuiltImage & { ref: string }) => {
    const big = img.layers[1]!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) => (r.path.endsWith(big.digest) && !r.headers.range ? { holdAfter: HELD, until: gate } : undefined);
    const cli = spawn(process.execPath, [BERTH_BIN, 'pull', img.ref], {
      env: { ...process.env, BERTH_ADDRESS: dirs.address },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    cli.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; stderr: string }>((r) => cli.once('close', (code) => r({ code, stderr })));
    const served = () => proxy.log.find((g) => g.path.endsWith(big.digest))?.bytes ?? 0;
    const firstDone = () => proxy.log.some((g) => g.path.endsWith(img.layers[0]!.digest) && g.end !== undefined);
    for (let i = 0; i < 1200 && (served() < HELD || !firstDone()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(served()).toBe(HELD);
    await new Promise((r) => setTimeout(r, 500)); // berthd writes what it received and commits the first layer
    return { cli, exited, release };
  };

  /** The second pull: only the rest of the big layer crosses the proxy. */
  const expectResumed = async (img: BuiltImage & { ref: string }) => {
    proxy.log.length = 0;
    proxy.onRequest = undefined;
    const r = await berthCli(dirs.address)(['pull', img.ref]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const gets = proxy.log.filter((g) => g.method === 'GET' && g.path.includes('/blobs/'));
    const big = img.layers[1]!;
    expect(gets.map((g) => g.path.split('/').pop())).toEqual([big.digest]);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[0]!.headers.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(HELD);
    expect(proxy.bytesFor(/\/blobs\//)).toBe(big.size - from);
  };

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    reg = await startRegistry();
    proxy = await startRegistryProxy(reg);
    work = await mkdtemp(join(tmpdir(), 'berth-cli-resume-'));
    dirs = await testDirs('berth-cli-resume-');
    daemon = new DaemonProcess(dirs);
    await daemon.start();
  }, 120_000);
  afterAll(async () => {
    await daemon?.stop();
    daemon?.removeNetworking();
    if (dirs) await removeDaemonDir(dirs.dir);
    await proxy?.stop();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  itRoot(
    'the CLI killed mid-blob (the client is gone): the next pull fetches only the rest of that blob',
    async () => {
      const img = await freshImage();
      const { cli, exited, release } = await startHeldPull(img);
      cli.kill('SIGKILL');
      await exited;
      await new Promise((r) => setTimeout(r, 300)); // berthd sees the streams reset and cancels the transfer
      release();
      await expectResumed(img);
    },
    120_000,
  );

  itRoot(
    'berthd SIGKILLed mid-blob and started again: the next pull fetches only the rest of that blob',
    async () => {
      const img = await freshImage();
      const { exited, release } = await startHeldPull(img);
      await daemon.kill();
      const failed = await exited; // the CLI fails with one line: its connection is gone
      expect(failed.code).not.toBe(0);
      expect(failed.stderr.trim().split('\n')).toEqual([expect.stringMatching(/berthd|connection|unavailable|closed/i)]);
      release();
      for (const pid of pidsWithCmdline(dirs.dir)) process.kill(pid, 'SIGKILL'); // staging helpers of the dead berthd
      await daemon.start();
      await expectResumed(img);
    },
    120_000,
  );
});
