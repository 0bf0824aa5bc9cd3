import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type * as grpc from '@grpc/grpc-js';
import { SpaceGuard } from '../../src/core/node/space';
import { rawClient, startInProcess } from '../helpers/daemon';
import { WriteSession } from '../content/write-session';

/**
 * berthd keeps `reservedFreeBytes` free on its root's filesystem (core/node/space.ts): a content
 * write or a layer extraction that would eat into it fails with RESOURCE_EXHAUSTED naming the
 * lack of space, whichever path the data takes (small pipelined WRITEs, large ones streamed as
 * they arrive; berth-unpack --min-free: test/diff/min-free.test.ts). Here the reserve is set above
 * what the disk has, so the first byte is refused.
 */
const SVC = 'containerd.services.content.v1.Content';
const RESOURCE_EXHAUSTED = 8;

describe('the free-space reserve', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let c: grpc.Client;
  let free: number;
  beforeAll(async () => {
    free = statfsSync(tmpdir()).bavail * statfsSync(tmpdir()).bsize;
    d = await startInProcess({ reservedFreeBytes: free * 2 });
    c = rawClient(d.dirs.address, SVC);
  });
  afterAll(async () => {
    c.close();
    await d.stop();
  });

  for (const [what, size] of [
    ['a small pipelined WRITE (the client waits for its reply)', 32 << 10],
    ['a large WRITE streamed to the file as it arrives', 1 << 20],
  ] as const) {
    it(`${what} fails with RESOURCE_EXHAUSTED, and the stream ends`, async () => {
      const ref = `space-${size}`;
      const s = new WriteSession(c);
      expect((await s.send({ action: 'STAT', ref })).offset).toBe('0');
      await expect(s.send({ action: 'WRITE', ref, offset: 0, data: Buffer.alloc(size, 1) })).rejects.toMatchObject({
        code: RESOURCE_EXHAUSTED,
        details: expect.stringMatching(/no space left on device: [0-9.]+ MiB free on the filesystem of .*, and berthd keeps [0-9.]+ MiB free for its metadata/),
      });
      // Nothing was written; the ingest stays resumable at 0.
      const again = new WriteSession(c);
      expect((await again.send({ action: 'STAT', ref })).offset).toBe('0');
      await again.close();
    });
  }

  it('SpaceGuard: asks statfs again once the margin may be half used, and refuses what does not fit', () => {
    const g = new SpaceGuard(tmpdir(), 0, 3600_000);
    g.take(1, 'x'); // the first call reads statfs
    expect(() => g.take(free * 4, 'big write')).toThrow(/big write: no space left on device/);
    const tight = new SpaceGuard(tmpdir(), free * 2);
    expect(() => tight.take(1, 'ingest ref r')).toThrow(expect.objectContaining({ kind: 'ResourceExhausted' }));
  });
});
