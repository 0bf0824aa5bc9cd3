/**
 * Two builds of berth side by side (bench/logs-ab.ts, bench/run-ab.ts): each build's berthd with
 * a root, a test network and a socket of its own, busybox imported, and each build's CLI.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';
import { ctr, run } from '../../test/helpers/ctr';
import { buildImages, busyboxImage } from '../../test/helpers/images';
import { removeTestNetworking, testNetworkConfig } from '../../test/helpers/net';
import { TASKS_NS } from './containers';
import { untilVersion } from './grpc';
import { berthdEnv } from './paths';

export interface AbSide {
  name: string;
  /** berthd's. */
  pid: number;
  /** The build: `<dist>/daemon/bin.js`, `<dist>/cli/bin.js`. */
  dist: string;
  address: string;
  stop: () => Promise<void>;
}

/** berthd of the build in `dist` (with `nodeArgs`, e.g. --cpu-prof), busybox imported from `archive`. */
export async function launchSide(name: string, dist: string, archive: string, o: { tag: string; nodeArgs?: string[] }): Promise<AbSide> {
  const dir = await mkdtemp(join(tmpdir(), `berth-${o.tag}-${name}-`));
  const address = join(dir, 'berthd.sock');
  const network = testNetworkConfig(dir);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ network }));
  const args = ['--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address, '--config', config, '--log-level', 'warn'];
  // The build's own flags (its code cache is made under them), so that an A/B can compare flags too.
  const { BERTHD_NODE_FLAGS: flags } = require(join(resolve(dist), 'daemon', 'node-flags.js')) as typeof import('../../src/daemon/node-flags'); // eslint-disable-line @typescript-eslint/no-require-imports
  const child = spawn(process.execPath, [...flags, ...(o.nodeArgs ?? []), join(dist, 'daemon', 'bin.js'), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: berthdEnv(),
    detached: true,
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  await untilVersion(address, { what: 'berthd', timeoutMs: 15000, exited: () => (gone() ? String(child.exitCode) : undefined), detail: () => '' });
  const side: AbSide = {
    name,
    pid: child.pid!,
    dist,
    address,
    stop: async () => {
      if (!gone()) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      removeTestNetworking(network);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  await ctr(address, ['images', 'import', archive], { namespace: TASKS_NS, timeoutMs: 120000 });
  return side;
}

/** `berth …` of the side's build against its berthd. */
export function sideCli(side: AbSide, args: string[], timeoutMs = 60000) {
  return run(process.execPath, [join(side.dist, 'cli', 'bin.js'), '--address', side.address, '-n', TASKS_NS, ...args], {
    timeoutMs,
    env: withDeferredExtraCa(process.env),
  });
}

/** utime + stime of a process (ms), or with `children` of the children it waited for, from its /proc stat. */
export function cpuMs(stat: string, children = false): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [u, s] = children ? [13, 14] : [11, 12];
  return ((Number(f[u]) + Number(f[s])) * 1000) / 100;
}

/**
 * The A/B script's main: busybox built for the sides, `body` launching them into `sides`, every
 * side stopped however it ends (exit 1 on a failure).
 */
export function abMain<S extends AbSide>(body: (archive: string, sides: S[]) => Promise<void>): void {
  const main = async () => {
    const work = await mkdtemp(join(tmpdir(), 'berth-ab-img-'));
    const sides: S[] = [];
    try {
      const { ociArchive } = await buildImages(join(work, 'images'), [busyboxImage()]);
      await body(ociArchive, sides);
    } finally {
      for (const s of sides) await s.stop();
      await rm(work, { recursive: true, force: true });
    }
  };
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
