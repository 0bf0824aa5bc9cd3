/** gRPC's length-prefixed message framing and the small pieces of its HTTP/2 mapping. */
import { encodeHeaders, type HeaderList } from '../h2/hpack';

/**
 * Splits a stream's bytes into framed messages (5-byte prefix + body), as grpc-js's
 * StreamDecoder does (the Content/Write tap replaces `write` with the same contract). A message
 * that arrived whole in one piece is returned as a slice of it, without a copy.
 */
export class MessageDecoder {
  /** 0 at a message boundary, 1 inside a prefix, 2 inside a body. */
  readState = 0;
  private readonly hdr = Buffer.alloc(5);
  private hdrLen = 0;
  private body: Buffer[] = [];
  private bodyLen = 0;
  private need = 0;

  constructor(readonly maxReadMessageLength: number) {}

  private check(len: number): void {
    if (this.maxReadMessageLength !== -1 && len > this.maxReadMessageLength) {
      throw new Error(`Received message larger than max (${len} vs ${this.maxReadMessageLength})`);
    }
  }

  write(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < data.length) {
      if (this.readState !== 2) {
        if (this.hdrLen === 0 && data.length - i >= 5) {
          const len = data.readUInt32BE(i + 1);
          this.check(len);
          if (data.length - i >= 5 + len) {
            out.push(data.subarray(i, i + 5 + len));
            i += 5 + len;
            continue;
          }
        }
        const n = Math.min(5 - this.hdrLen, data.length - i);
        data.copy(this.hdr, this.hdrLen, i, i + n);
        this.hdrLen += n;
        i += n;
        this.readState = 1;
        if (this.hdrLen < 5) break;
        this.hdrLen = 0;
        this.need = this.hdr.readUInt32BE(1);
        this.check(this.need);
        this.body = [Buffer.from(this.hdr)];
        this.bodyLen = 5;
        this.readState = 2;
        if (this.need > 0) continue;
      } else {
        const n = Math.min(this.need, data.length - i);
        this.body.push(data.subarray(i, i + n));
        this.bodyLen += n;
        this.need -= n;
        i += n;
        if (this.need > 0) continue;
      }
      out.push(this.body.length === 1 ? this.body[0] : Buffer.concat(this.body, this.bodyLen));
      this.body = [];
      this.readState = 0;
    }
    return out;
  }
}

/** Prefixes a serialized message; large ones go as two buffers rather than one copy. */
export function frameMessage(body: Buffer): Buffer[] {
  if (body.length > 64 << 10) {
    const h = Buffer.allocUnsafe(5);
    h[0] = 0;
    h.writeUInt32BE(body.length, 1);
    return [h, body];
  }
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return [out];
}

export const RESPONSE_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']]);
const OK_TRAILERS_ONLY = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-status', '0'],
]);

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec); kept short enough for one frame. */
export function encodeGrpcMessage(details: string): string {
  const s = details.length > 4096 ? details.slice(0, 4096) + '…' : details;
  if (/^[\x20-\x24\x26-\x7e]*$/.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  return out;
}

/** The trailer block (or a trailers-only response when no headers went out yet). */
export function statusBlock(code: number, details: string, headersSent: boolean): Buffer {
  if (code === 0 && !details) return headersSent ? OK_TRAILERS : OK_TRAILERS_ONLY;
  const list: HeaderList = headersSent
    ? []
    : [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ];
  list.push(['grpc-status', String(code)]);
  if (details) list.push(['grpc-message', encodeGrpcMessage(details)]);
  return encodeHeaders(list);
}

/** grpc-timeout ("100m", "5S", ...) in milliseconds; undefined when absent or malformed. */
export function parseTimeout(v: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { H: 3600e3, M: 60e3, S: 1e3, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H'];
  return n * unit;
}

/** Call metadata as handlers read it (grpc-js's Metadata.get contract). */
export class CallMetadata {
  private readonly map = new Map<string, Array<string | Buffer>>();

  add(key: string, value: string | Buffer): void {
    const v = this.map.get(key);
    if (v) v.push(value);
    else this.map.set(key, [value]);
  }

  get(key: string): Array<string | Buffer> {
    return this.map.get(key.toLowerCase()) ?? [];
  }

  getMap(): Record<string, string | Buffer> {
    const out: Record<string, string | Buffer> = {};
    for (const [k, v] of this.map) out[k] = v[0];
    return out;
  }
}
