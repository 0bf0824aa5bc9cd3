/** gRPC's length-prefixed message framing and the small pieces of its HTTP/2 mapping. */
import type { MetadataReader, RequestFramer } from './call-interface';

/**
 * Request bytes of one connection held in messages still being assembled (across frames or
 * socket reads): a message must reserve its size here before its body is kept, and waits (its
 * stream stops being read, so flow control stops its sender) while the budget is spent. A
 * message larger than the whole budget is admitted when nothing else is held.
 */
export const MESSAGE_BUDGET = 16 << 20;

export class MessageBudget {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly limit = MESSAGE_BUDGET) {}

  reserve(n: number): boolean {
    if (this.used > 0 && this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used -= n;
    if (!this.waiters.length) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Calls `retry` once some budget was released. */
  wait(retry: () => void): void {
    this.waiters.push(retry);
  }
}

/**
 * Splits a stream's bytes into framed messages (5-byte prefix + body), as grpc-js's
 * StreamDecoder does. A message that arrived whole in one piece is returned as a slice of it,
 * without a copy; one assembled from pieces first reserves its size from the budget, and
 * push() stops before it (leaving the bytes in `rest`) when the budget is spent.
 */
export class MessageDecoder implements RequestFramer {
  private readonly hdr = Buffer.alloc(5);
  private hdrLen = 0;
  /** Body bytes still to come of the message being assembled; -1: none (at a boundary or in a prefix). */
  private need = -1;
  private started = false;
  private body: Buffer[] = [];
  private bodyLen = 0;
  /** Reserved from the budget for the message being assembled (released when it is whole, or by drop()). */
  private reserved = 0;
  /** What push() left unread when the budget was spent. */
  rest: Buffer | undefined;

  constructor(
    readonly maxReadMessageLength: number,
    private readonly budget?: MessageBudget,
  ) {}

  /** Nothing of a message is pending: the next byte starts one. */
  get atBoundary(): boolean {
    return this.need < 0 && this.hdrLen === 0;
  }

  private check(len: number): void {
    if (this.maxReadMessageLength !== -1 && len > this.maxReadMessageLength) {
      throw new Error(`Received message larger than max (${len} vs ${this.maxReadMessageLength})`);
    }
  }

  push(data: Buffer): Buffer[] {
    this.rest = undefined;
    const out: Buffer[] = [];
    let i = 0;
    while (i < data.length || this.need === 0) {
      if (this.need < 0) {
        if (this.hdrLen === 0 && data.length - i >= 5) {
          const len = data.readUInt32BE(i + 1);
          this.check(len);
          if (data.length - i >= 5 + len) {
            out.push(i === 0 && len + 5 === data.length ? data : data.subarray(i, i + 5 + len));
            i += 5 + len;
            continue;
          }
        }
        const n = Math.min(5 - this.hdrLen, data.length - i);
        data.copy(this.hdr, this.hdrLen, i, i + n);
        this.hdrLen += n;
        i += n;
        if (this.hdrLen < 5) break;
        this.need = this.hdr.readUInt32BE(1);
        this.check(this.need);
        this.started = false;
      }
      if (!this.started) {
        if (this.budget && !this.budget.reserve(5 + this.need)) {
          this.rest = data.subarray(i);
          return out;
        }
        this.reserved = 5 + this.need;
        this.body = [Buffer.from(this.hdr)];
        this.bodyLen = 5;
        this.started = true;
      }
      const n = Math.min(this.need, data.length - i);
      if (n > 0) {
        this.body.push(data.subarray(i, i + n));
        this.bodyLen += n;
        this.need -= n;
        i += n;
      }
      if (this.need > 0) break;
      out.push(this.body.length === 1 ? this.body[0] : Buffer.concat(this.body, this.bodyLen));
      this.drop();
    }
    return out;
  }

  /** Forgets a partly assembled message and returns its reservation. */
  drop(): void {
    if (this.reserved) this.budget?.release(this.reserved);
    this.reserved = 0;
    this.body = [];
    this.bodyLen = 0;
    this.need = -1;
    this.hdrLen = 0;
    this.started = false;
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

/** Most bytes of grpc-message we send, after percent-encoding (containerd echoes client input into errors). */
export const MAX_GRPC_MESSAGE = 4096;
const ELLIPSIS = '%E2%80%A6';

/**
 * grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2). Long text is cut at a character
 * boundary so that the encoded value, an ellipsis included, stays within `max` bytes.
 */
export function encodeGrpcMessage(details: string, max = MAX_GRPC_MESSAGE): string {
  if (details.length <= max && /^[\x20-\x24\x26-\x7e]*$/.test(details)) return details;
  let out = '';
  /** Where to cut (a character boundary leaving room for the ellipsis), once known. */
  let cut = -1;
  for (const ch of details) {
    const cp = ch.codePointAt(0)!;
    const enc =
      cp >= 0x20 && cp <= 0x7e && cp !== 0x25 ? ch : [...Buffer.from(ch, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('');
    if (cut < 0 && out.length + enc.length > max - ELLIPSIS.length) cut = out.length;
    out += enc;
    if (out.length > max) return out.slice(0, cut) + ELLIPSIS;
  }
  return out;
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
export class CallMetadata implements MetadataReader {
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
