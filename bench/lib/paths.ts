/** The repo root, found from wherever this file was compiled to (src via jest, dist-bench via tsc). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';
import { BERTHD_ENV } from '../../src/daemon/node-flags';

function findRepo(start: string): string {
  let d = start;
  for (;;) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === 'berth') return d;
    const up = dirname(d);
    if (up === d) throw new Error(`no berth package.json above ${start}`);
    d = up;
  }
}

export const REPO = findRepo(__dirname);
/** BERTH_BENCH_BERTHD: another build's bin.js (e.g. main's, for an A/B of a change). */
export const BERTHD_BIN = process.env.BERTH_BENCH_BERTHD ?? join(REPO, 'dist', 'daemon', 'bin.js');

/**
 * berthd's environment as its shebang makes it (BERTHD_ENV, NODE_EXTRA_CA_CERTS deferred), except
 * that the bench's own environment wins for BERTHD_ENV's names (an A/B of them).
 */
export const berthdEnv = (): NodeJS.ProcessEnv => ({ ...BERTHD_ENV, ...withDeferredExtraCa(process.env) });
