/**
 * berthd starts from one bundle with a V8 code cache (scripts/bundle.js, src/core/node/code-cache.ts).
 * A cache V8 refuses costs start-up time silently, so check the build's cache is accepted under
 * berthd's node flags, and that another flag set is refused (the launcher then compiles).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/daemon';
import { BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';

const BUNDLE = join(REPO, 'dist', 'daemon', 'berthd.bundle.js');
const probe = (flags: string[]) =>
  JSON.parse(
    execFileSync(
      process.execPath,
      [
        ...flags,
        '-e',
        `const l = require(${JSON.stringify(join(REPO, 'dist/core/node/code-cache.js'))}).loadWithCodeCache(${JSON.stringify(BUNDLE)}); console.log(JSON.stringify({ rejected: l.rejected, main: typeof l.exports.main }))`,
      ],
      { encoding: 'utf8' },
    ),
  ) as { rejected: boolean; main: string };

describe("berthd's code cache", () => {
  it('is accepted under berthd node flags and exports main', () => {
    expect(probe(BERTHD_NODE_FLAGS)).toEqual({ rejected: false, main: 'function' });
  });

  it('is refused under other V8 flags, and the bundle still loads', () => {
    expect(probe([...BERTHD_NODE_FLAGS, '--max-lazy'])).toEqual({ rejected: true, main: 'function' });
  });

  it('is made from bundles that are ASCII only (the loader reads them as latin1)', () => {
    for (const bundle of [BUNDLE, join(REPO, 'dist', 'cli', 'berth.bundle.js')]) {
      expect(readFileSync(bundle).findIndex((b) => b > 0x7f)).toBe(-1);
    }
  });
});
