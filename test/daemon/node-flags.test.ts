import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';

const REPO = join(__dirname, '..', '..');

describe('berthd node flags', () => {
  it("bin.ts's shebang and scripts/demo.sh pass the same flags and environment as the launchers (node-flags.ts)", () => {
    const env = Object.entries(BERTHD_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const shebang = readFileSync(join(REPO, 'src', 'daemon', 'bin.ts'), 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S ${env} node ${BERTHD_NODE_FLAGS.join(' ')}`);
    const demo = readFileSync(join(REPO, 'scripts', 'demo.sh'), 'utf8');
    expect(demo).toContain(`${env} node ${BERTHD_NODE_FLAGS.join(' ')} dist/daemon/bin.js`);
  });
});
