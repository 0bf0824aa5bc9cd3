/**
 * `berth content ingest REF`: stores stdin as a blob (Content/Write: the chunks, then a commit
 * that checks `--expected-digest` when given), printing its digest. A failed ingest is aborted,
 * so nothing half-written stays behind under REF.
 */
import { createHash } from 'node:crypto';
import { defineCommand } from '../../command';

const CHUNK = 1 << 20;

export const command = defineCommand({
  usage: '[OPTIONS] REF',
  summary: 'Store a blob from stdin',
  minArgs: 1,
  maxArgs: 1,
  flags: {
    expectedDigest: { type: 'string', desc: 'Verify the content against this digest', placeholder: 'string' },
    label: { type: 'strings', desc: 'Labels to attach to the blob (key=value)', placeholder: 'list' },
  },
  async run(cli, f, [ref]) {
    const labels = Object.fromEntries(f.label.map((l) => [l.split('=', 1)[0]!, l.slice(l.indexOf('=') + 1)]));
    const call = cli.client.content.write();
    const replies = call[Symbol.asyncIterator]();
    const hash = createHash('sha256');
    let offset = 0;
    const reply = async () => {
      const r = await replies.next();
      if (r.done) await call.done;
      return r.value;
    };
    try {
      let pending: Buffer = Buffer.alloc(0);
      const flush = async (data: Buffer) => {
        await call.send({ action: 'WRITE', ref, offset: String(offset), data });
        await reply();
        offset += data.length;
      };
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        hash.update(chunk);
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= CHUNK) {
          await flush(pending.subarray(0, CHUNK));
          pending = pending.subarray(CHUNK);
        }
      }
      if (pending.length || offset === 0) await flush(pending);
      const digest = `sha256:${hash.digest('hex')}`;
      await call.send({ action: 'COMMIT', ref, offset: String(offset), total: String(offset), expected: f.expectedDigest ?? digest, labels });
      await reply();
      await call.end();
      await call.done;
      await cli.out(`${digest}\n`);
    } catch (e) {
      call.cancel();
      await cli.client.content.abort({ ref }).catch(() => undefined);
      throw e;
    }
  },
});
