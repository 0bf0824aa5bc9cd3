import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHEBANG_DEFER_CA } from '../../src/core/node/extra-ca';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';

const REPO = join(__dirname, '..', '..');

describe('berthd node flags', () => {
  it("bin.ts's shebang and scripts/demo.sh pass the same flags and environment as the launchers (node-flags.ts, core/node/extra-ca.ts)", () => {
    const env = Object.entries(BERTHD_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const shebang = readFileSync(join(REPO, 'src', 'daemon', 'bin.ts'), 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S ${SHEBANG_DEFER_CA} ${env} node ${BERTHD_NODE_FLAGS.join(' ')}`);
    expect(shebang.length).toBeLessThan(256); // the kernel reads no more of a #! line (BINPRM_BUF_SIZE)
    const demo = readFileSync(join(REPO, 'scripts', 'demo.sh'), 'utf8');
    expect(demo).toContain(`${env} node ${BERTHD_NODE_FLAGS.join(' ')} dist/daemon/bin.js`);
    expect(demo).toMatch(/^export BERTH_EXTRA_CA_CERTS=\$\{NODE_EXTRA_CA_CERTS:-\}\nunset NODE_EXTRA_CA_CERTS$/m);
  });

  it("cli/bin.ts's shebang defers NODE_EXTRA_CA_CERTS as berthd's does", () => {
    expect(readFileSync(join(REPO, 'src', 'cli', 'bin.ts'), 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S ${SHEBANG_DEFER_CA} node`);
  });
});
