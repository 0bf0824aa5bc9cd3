/**
 * scripts/demo.sh, the README's main job, with berthd moved into a temp dir: a socket file left
 * by a crashed berthd is there first (it must wait for berthd to answer, not for the file), and
 * everything it does goes through berth (no ctr): the image in, `berth run`, the exit code.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testDirs, REPO } from '../helpers/daemon';
import { removeTestNetworking, testNetworkConfig } from '../helpers/net';
import { run } from '../helpers/cli';
import { itRoot } from '../engine/it-root';

describe('scripts/demo.sh', () => {
  itRoot(
    'runs its containers with berth on a fresh berthd, past a stale socket',
    async () => {
      const dirs = await testDirs('berth-demo-');
      try {
        await mkdir(dirs.state, { recursive: true });
        // A socket nobody listens on: what a SIGKILLed berthd leaves.
        const bound = spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(dirs.address)})`]);
        expect(bound.status).toBe(0);
        // The containers are on the default bridge network: the test's own bridge and chains.
        const config = join(dirs.dir, 'berthd.json');
        await writeFile(config, JSON.stringify({ network: testNetworkConfig(dirs.dir) }));
        const env = {
          ...process.env,
          DEMO_NO_SETUP: '1',
          BERTH_ADDRESS: dirs.address,
          BERTH_ROOT: dirs.root,
          BERTH_STATE: dirs.state,
          BERTHD_CONFIG: config,
          BERTH_NAMESPACE: '',
        };
        const r = await run('bash', [join(REPO, 'scripts', 'demo.sh')], { env, cwd: REPO }, undefined, 120_000);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        expect(r.stdout).toContain('== starting berthd');
        expect(r.stdout).toMatch(/^hello from a berth container: Linux, uid 0, pid 1$/m);
        expect(r.stdout).toMatch(/^detached$/m);
        expect(r.stdout).toContain("== berth run exits with the container's code: 3");
        expect(r.stdout).not.toMatch(/\bctr\b/);
      } finally {
        removeTestNetworking(testNetworkConfig(dirs.dir));
        await rm(dirs.dir, { recursive: true, force: true });
      }
    },
    150_000,
  );
});
