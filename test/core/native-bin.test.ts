import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findNativeBin } from '../../src/core/node/native-bin';

const BUILT = join(__dirname, '..', '..', 'native', 'build', 'berth-helper');

describe('findNativeBin', () => {
  it('finds a built program in native/build above the source, and nothing for one that is not there', () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is not built: run make -C native`);
    expect(findNativeBin('berth-helper', 'BERTH_TEST_NO_SUCH_VAR')).toBe(BUILT);
    expect(findNativeBin('berth-no-such-program', 'BERTH_TEST_NO_SUCH_VAR')).toBeUndefined();
  });

  it('takes the environment variable first', () => {
    process.env.BERTH_TEST_BIN = '/opt/elsewhere/berth-helper';
    try {
      expect(findNativeBin('berth-helper', 'BERTH_TEST_BIN')).toBe('/opt/elsewhere/berth-helper');
    } finally {
      delete process.env.BERTH_TEST_BIN;
    }
  });
});
