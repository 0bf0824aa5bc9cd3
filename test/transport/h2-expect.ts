/** What the transport tests expect of the server's answers to a raw peer (jest only). */
import { ECHO } from '../helpers/h2-fixture';
import { ERR_NAME, type RawPeer } from '../helpers/h2-peer';

/** A connection error: GOAWAY with `code` (RFC 9113 §5.4.1). */
export async function expectConnectionError(p: RawPeer, code: number): Promise<void> {
  await p.ended(3000);
  const got = p.goaway ? (ERR_NAME[p.goaway.code] ?? p.goaway.code) : p.closed ? 'closed without GOAWAY' : 'still open';
  expect(got).toBe(ERR_NAME[code]);
}

/** A stream error on `id` (RST_STREAM with `code`), or the connection error it may become (§5.4.1). */
export async function expectStreamError(p: RawPeer, id: number, code: number): Promise<void> {
  const r = await p.error(id, 3000);
  expect(r && r.kind !== 'closed' ? ERR_NAME[r.code!] : (r?.kind ?? 'no error')).toBe(ERR_NAME[code]);
}

/** The connection is still usable: a unary call on a new stream answers. */
export async function expectAlive(p: RawPeer, id: number): Promise<void> {
  await p.call(id, ECHO, Buffer.from('ok'));
  await p.until(() => p.statuses.get(id)?.status !== undefined || p.closed, 3000);
  expect(p.statuses.get(id)?.status).toBe('0');
}
