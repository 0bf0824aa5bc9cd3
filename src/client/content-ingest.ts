/**
 * Content/Write from berth's own client: STAT, WRITEs pipelined as fast as the windows allow,
 * COMMIT; replies are read as they come. Requests are encoded by hand so a chunk's bytes go to
 * the socket as they are (protobufjs would copy each chunk into a new message buffer).
 */
import { WriteContentResponse } from '../api/gen/containerd/services/content/v1/content';
import type { H2Channel } from '../transport';

const WRITE_PATH = '/containerd.services.content.v1.Content/Write';
const enum Action {
  STAT = 0,
  WRITE = 1,
  COMMIT = 2,
}

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function str(out: number[], field: number, s: string): void {
  if (!s) return;
  const b = Buffer.from(s);
  varint(out, (field << 3) | 2);
  varint(out, b.length);
  for (const x of b) out.push(x);
}

/** WriteContentRequest without its data field, plus the data field's tag and length. */
export function encodeWriteRequest(r: { action: number; ref: string; total?: number; expected?: string; offset?: number; dataLength?: number }): Buffer {
  const out: number[] = [];
  if (r.action) {
    varint(out, 1 << 3);
    varint(out, r.action);
  }
  str(out, 2, r.ref);
  if (r.total) {
    varint(out, 3 << 3);
    varint(out, r.total);
  }
  str(out, 4, r.expected ?? '');
  if (r.offset) {
    varint(out, 5 << 3);
    varint(out, r.offset);
  }
  if (r.dataLength) {
    varint(out, (6 << 3) | 2);
    varint(out, r.dataLength);
  }
  return Buffer.from(out);
}

export interface IngestOptions {
  namespace: string;
  ref: string;
  expected: string;
  size: number;
}

/** Ingests `chunks` under `ref` and commits them as `expected`; resolves with the committed digest. */
export async function ingest(ch: H2Channel, o: IngestOptions, chunks: AsyncIterable<Buffer>): Promise<string> {
  const s = await ch.call(WRITE_PATH, { 'containerd-namespace': o.namespace });
  let committed = '';
  s.onMessage = (body) => {
    const m = WriteContentResponse.decode(body);
    if (m.action === 'COMMIT') committed = m.digest;
  };
  const failed = s.status.then((st) => {
    if (st.code !== 0) throw Object.assign(new Error(`Content/Write: ${st.details}`), { grpcCode: st.code });
  });
  const work = (async () => {
    await s.write(encodeWriteRequest({ action: Action.STAT, ref: o.ref, total: o.size, expected: o.expected }));
    let offset = 0;
    for await (const c of chunks) {
      await s.write([encodeWriteRequest({ action: Action.WRITE, ref: o.ref, offset, dataLength: c.length }), c]);
      offset += c.length;
    }
    await s.write(encodeWriteRequest({ action: Action.COMMIT, ref: o.ref, offset, total: o.size, expected: o.expected }));
    await s.end();
  })();
  await Promise.race([work, failed.then(() => work)]);
  await failed;
  if (committed !== o.expected) throw new Error(`Content/Write committed ${committed || 'nothing'}, expected ${o.expected}`);
  return committed;
}
