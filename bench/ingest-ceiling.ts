/**
 * The ceilings the ingest targets meet on this machine: a Content service that only acknowledges
 * (no hash, no file; berth's own HTTP/2 server), fed by the real `ctr content ingest` and by
 * berth's own client. Whatever a real server does on top (hash, write, commit) can only be slower.
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/ingest-ceiling.js [--mib 1024]
 */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ingest } from '../src/client/content-ingest';
import { run } from '../test/helpers/ctr';
import { GrpcServer, H2Channel, type ServerCall } from '../src/transport';
import { serverMethods } from '../src/api/proto';

const MiB = 1 << 20;
const i = process.argv.indexOf('--mib');
const mib = i > 0 ? Number(process.argv[i + 1]) : 1024;

interface Req {
  action: string;
  expected: string;
  total: string;
  data?: Buffer;
}

async function main(): Promise<void> {
  const dir = mkdtempSync('/dev/shm/berth-ceiling-');
  const file = join(dir, 'data');
  const sock = join(dir, 's.sock');
  const h = createHash('sha256');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(8 * MiB);
  for (let n = 0; n < mib; n += 8) {
    randomFillSync(buf);
    h.update(buf);
    writeSync(fd, buf);
  }
  closeSync(fd);
  const digest = `sha256:${h.digest('hex')}`;
  const server = new GrpcServer({ maxReceiveMessageLength: 16 * MiB });
  server.addService(serverMethods('containerd.services.content.v1.Content'), {
    Write: (call: ServerCall<Req, unknown>) => {
      let offset = 0;
      let expected = '';
      call.on('data', (m: Req) => {
        if (m.expected) expected = m.expected;
        offset += m.data?.length ?? 0;
        const commit = m.action === 'COMMIT';
        call.write({ action: m.action, offset: String(offset), total: m.total, digest: commit ? expected : `sha256:${'0'.repeat(64)}` });
        if (commit) call.end();
      });
      call.on('end', () => call.end());
    },
    Info: (_c: ServerCall, cb: (e: unknown) => void) => cb({ code: 5, details: 'not found' }),
    Status: (_c: ServerCall, cb: (e: unknown) => void) => cb({ code: 5, details: 'not found' }),
  });
  await server.listen(sock);
  try {
    for (let r = 0; r < 3; r++) {
      let t = process.hrtime.bigint();
      // Spawned asynchronously: the service runs in this process's event loop.
      const res = await run(
        'sh',
        ['-c', `exec ctr --address "$0" content ingest --expected-digest ${digest} --expected-size ${mib * MiB} ref${r} < "$1"`, sock, file],
        { timeoutMs: 300000 },
      );
      if (res.code !== 0) throw new Error(`ctr content ingest: ${res.stderr.trim()}`);
      const ctrS = Number(process.hrtime.bigint() - t) / 1e9;
      t = process.hrtime.bigint();
      const ch = new H2Channel(sock);
      await ingest(ch, { namespace: 'ceiling', ref: `raw${r}`, expected: digest, size: mib * MiB }, createReadStream(file, { highWaterMark: MiB }));
      ch.close();
      const rawS = Number(process.hrtime.bigint() - t) / 1e9;
      console.log(`round ${r + 1}: ctr content ingest ${(mib / ctrS).toFixed(0)} MiB/s, berth client ${(mib / rawS).toFixed(0)} MiB/s (null Content service)`);
    }
  } finally {
    await server.close(100);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
