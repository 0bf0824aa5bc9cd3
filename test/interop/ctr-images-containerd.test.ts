import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr } from '../helpers/ctr';
import { startProcess } from '../helpers/daemon';
import { writeOciArchive, writeOciImage } from '../helpers/oci';
import { itWith, requireRoot, requireTool } from '../helpers/requires';

/** Needs root, ctr and a containerd binary; the containerd runs on its own root/state/socket. */
const itContainerd = itWith(requireRoot(), requireTool('ctr', 'containerd'));
const NAME = 'docker.io/library/berth-roundtrip:1';

async function startContainerd(dir: string): Promise<{ address: string; stop(): Promise<void> }> {
  const address = join(dir, 'containerd.sock');
  const cfg = join(dir, 'config.toml');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(
    cfg,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, 'opt')}"`,
    ].join('\n'),
  );
  let stderr = '';
  const child: ChildProcess = spawn('/usr/bin/containerd', ['--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`containerd exited: ${stderr.slice(-2000)}`);
    if (existsSync(address) && (await ctr(address, ['version'], { timeoutMs: 5000 })).code === 0) break;
    if (i > 300) {
      child.kill('SIGKILL');
      throw new Error(`containerd did not start: ${stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

describe('ctr images export from berthd imports into containerd, and back', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-ctrd-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  itContainerd('berthd → containerd → berthd round trip keeps the manifest digest and platform', async () => {
    const img = await writeOciImage(join(work, 'layout'), {
      name: NAME,
      layers: [{ entries: [{ path: 'hello.txt', type: 'file', content: 'round trip\n' }] }],
    });
    const archive = join(work, 'in.tar');
    await writeOciArchive(img.layoutDir, archive);
    let berth: Awaited<ReturnType<typeof startProcess>> | undefined;
    let ctrd: Awaited<ReturnType<typeof startContainerd>> | undefined;
    try {
      berth = await startProcess();
      ctrd = await startContainerd(join(work, 'containerd'));
      const leased = (address: string, args: string[]) => ctr(address, args);
      expect((await leased(berth.dirs.address, ['images', 'import', '--no-unpack', archive])).code).toBe(0);
      const fromBerth = join(work, 'from-berth.tar');
      const exp = await ctr(berth.dirs.address, ['images', 'export', fromBerth, NAME]);
      expect(exp.stderr).toBe('');
      expect(exp.code).toBe(0);

      const imp = await ctr(ctrd.address, ['images', 'import', '--no-unpack', fromBerth]);
      expect(imp.stderr).toBe('');
      expect(imp.code).toBe(0);
      const ls = await ctr(ctrd.address, ['images', 'ls']);
      expect(ls.stdout).toMatch(
        new RegExp(`${NAME.replace(/[.:/]/g, '\\$&')}\\s+application/vnd\\.oci\\.image\\.manifest\\.v1\\+json\\s+${img.manifest.digest}\\s+.*linux/amd64`),
      );

      const fromCtrd = join(work, 'from-containerd.tar');
      expect((await ctr(ctrd.address, ['images', 'export', fromCtrd, NAME])).code).toBe(0);
      expect((await ctr(berth.dirs.address, ['images', 'rm', '--sync', NAME])).code).toBe(0);
      const back = await leased(berth.dirs.address, ['images', 'import', '--no-unpack', fromCtrd]);
      expect(back.stderr).toBe('');
      expect(back.code).toBe(0);
      const ls2 = await ctr(berth.dirs.address, ['images', 'ls']);
      expect(ls2.stdout).toContain(img.manifest.digest);
      expect(ls2.stdout).toContain('linux/amd64');
    } finally {
      await ctrd?.stop();
      await berth?.stop();
    }
  });
});
