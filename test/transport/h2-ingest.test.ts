import { createHash, randomFillSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { H2Channel } from '../../src/transport';
import { ingest } from '../../src/client/content-ingest';
import { serviceClient } from '../../src/api/reflect';
import { startInProcess } from '../helpers/daemon';

/** berth's own HTTP/2 client against a real berthd: bulk Content/Write and its error paths. */
let d: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  d = await startInProcess();
});
afterAll(async () => {
  await d.stop();
});

function data(mib: number, seed: number): { chunks: Buffer[]; digest: string; size: number } {
  const base = Buffer.alloc(1 << 20);
  randomFillSync(base);
  const chunks: Buffer[] = [];
  const h = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    const b = Buffer.from(base);
    b.writeUInt32BE(i + seed, 0);
    chunks.push(b);
    h.update(b);
  }
  // An odd-sized tail: not every chunk is a whole MiB.
  const tail = Buffer.from('tail bytes');
  chunks.push(tail);
  h.update(tail);
  return { chunks, digest: `sha256:${h.digest('hex')}`, size: mib * (1 << 20) + tail.length };
}

async function* from(chunks: Buffer[]) {
  for (const c of chunks) yield c;
}

function info(digest: string): Promise<{ info: { size: string } }> {
  const C = serviceClient('containerd.services.content.v1.Content');
  const c = new C(`unix://${d.dirs.address}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>;
  const md = new grpc.Metadata();
  md.set('containerd-namespace', 'h2c');
  return new Promise((resolve, reject) =>
    c.Info({ digest }, md, (e: Error | null, v: { info: { size: string } }) => {
      c.close();
      return e ? reject(e) : resolve(v);
    }),
  );
}

describe('berth client: Content/Write over its own HTTP/2', () => {
  it('ingests 40 MiB pipelined (beyond every window) and commits the right digest', async () => {
    const ch = new H2Channel(d.dirs.address);
    try {
      const x = data(40, 1);
      expect(await ingest(ch, { namespace: 'h2c', ref: 'h2c-1', expected: x.digest, size: x.size }, from(x.chunks))).toBe(x.digest);
      expect((await info(x.digest)).info.size).toBe(String(x.size));
      // A second call on the same connection.
      const y = data(3, 7);
      expect(await ingest(ch, { namespace: 'h2c', ref: 'h2c-2', expected: y.digest, size: y.size }, from(y.chunks))).toBe(y.digest);
    } finally {
      ch.close();
    }
  });

  it('reports the server status when the commit is refused', async () => {
    const ch = new H2Channel(d.dirs.address);
    try {
      const x = data(2, 3);
      const wrong = `sha256:${'0'.repeat(64)}`;
      await expect(ingest(ch, { namespace: 'h2c', ref: 'h2c-bad', expected: wrong, size: x.size }, from(x.chunks))).rejects.toMatchObject({
        grpcCode: grpc.status.FAILED_PRECONDITION,
      });
    } finally {
      ch.close();
    }
  });

  it('fails cleanly when nothing listens', async () => {
    const ch = new H2Channel(`${d.dirs.dir}/nope.sock`);
    await expect(ch.call('/x/y')).rejects.toThrow();
    ch.close();
  });
});
