import { statfsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackTar } from '../../src/diff';
import { buildTar, cleanup, itRoot, tc, tempDir, UNPACK_BIN } from './util';

/** berth-unpack --min-free: the daemon's free-space reserve (core/node/space.ts) for extractions. */
describe('berth-unpack --min-free', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('berth-minfree-');
  });
  afterEach(async () => cleanup(dir));

  itRoot('an extraction that would eat into the reserve is ResourceExhausted; one that fits applies', async () => {
    const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
    const tar = await buildTar([tc.dir('d'), tc.file('d/f', 'content')]);
    await mkdir(join(dir, 'a'));
    await expect(unpackTar(Readable.from([tar]), { kind: 'plain', root: join(dir, 'a') }, { bin: UNPACK_BIN, minFree: free * 2 })).rejects.toMatchObject({
      kind: 'ResourceExhausted',
      message: expect.stringMatching(/MiB free, and [0-9.]+ MiB are kept free for the daemon's metadata: No space left on device/),
    });
    await mkdir(join(dir, 'b'));
    await expect(unpackTar(Readable.from([tar]), { kind: 'plain', root: join(dir, 'b') }, { bin: UNPACK_BIN, minFree: 1 << 20 })).resolves.toMatchObject({
      entries: 2,
    });
  });
});
