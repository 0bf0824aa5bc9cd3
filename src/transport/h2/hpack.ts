/**
 * HPACK (RFC 7541) for a gRPC server: a full decoder (static and dynamic table, Huffman), and an
 * encoder that only ever emits literals without indexing (plus the indexed `:status: 200`), so it
 * needs no dynamic table of its own and the peer's table size setting never matters.
 */
import { huffmanDecode } from './huffman';

const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

export type HeaderList = Array<[string, string]>;

export class HpackError extends Error {}

/**
 * The block decoded fine but its header list passed the limit (SETTINGS_MAX_HEADER_LIST_SIZE):
 * the decoder's state is intact (the whole block was processed), so only the stream fails.
 */
export class HeaderListTooLarge extends Error {}

/**
 * One decoder per connection: the dynamic table lives as long as the connection. A string is
 * decoded only if it can still fit in the list limit (its shortest possible decoding is checked
 * before any work), or if it enters the dynamic table; once the limit is passed the rest of the
 * block is only parsed, to keep the table in step with the peer's.
 */
export class HpackDecoder {
  /** Newest first. */
  private table: Array<[string, string]> = [];
  private size = 0;
  private pos = 0;
  private buf: Buffer = Buffer.alloc(0);

  private limit: number;

  /** `maxTableSize` is our SETTINGS_HEADER_TABLE_SIZE (the default 4096: berth does not change it). */
  constructor(
    private readonly maxTableSize = 4096,
    private readonly maxListBytes = 64 << 10,
  ) {
    this.limit = maxTableSize;
  }

  decode(block: Buffer): HeaderList {
    this.buf = block;
    this.pos = 0;
    const out: HeaderList = [];
    let room = this.maxListBytes;
    let over = false;
    let first = true;
    while (this.pos < block.length) {
      const b = block[this.pos];
      if (b & 0x80) {
        const [name, value] = this.entry(this.int(7));
        first = false;
        room -= name.length + value.length + 32;
        if (room < 0) over = true;
        else if (!over) out.push([name, value]);
        continue;
      }
      if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only at the start of a block (RFC 7541 §4.2).
        if (!first) throw new HpackError('table size update after a header');
        const n = this.int(5);
        if (n > this.maxTableSize) throw new HpackError(`table size ${n} above ${this.maxTableSize}`);
        this.limit = n;
        this.evict(0);
        continue;
      }
      first = false;
      const incremental = (b & 0xc0) === 0x40;
      const index = this.int(incremental ? 6 : 4);
      const name = index === 0 ? this.str(over ? -1 : room - 32, incremental) : this.entry(index)[0];
      const value = this.str(over || name === undefined ? -1 : room - 32 - name.length, incremental);
      if (incremental) {
        // A string too long to decode is longer than the table: adding it empties the table (§4.4).
        if (name === undefined || value === undefined) this.evict(Infinity);
        else this.add(name, value);
      }
      if (name === undefined || value === undefined) {
        over = true;
        continue;
      }
      room -= name.length + value.length + 32;
      if (room < 0) over = true;
      else if (!over) out.push([name, value]);
    }
    if (over) throw new HeaderListTooLarge(`header list above ${this.maxListBytes} bytes`);
    return out;
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC.length) return STATIC[index - 1];
    const e = this.table[index - STATIC.length - 1];
    if (!e) throw new HpackError(`index ${index} beyond the tables`);
    return e;
  }

  private add(name: string, value: string): void {
    const n = name.length + value.length + 32;
    this.evict(n);
    if (n <= this.limit) {
      this.table.unshift([name, value]);
      this.size += n;
    }
  }

  private evict(room: number): void {
    while (this.table.length && this.size + room > this.limit) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }

  private int(prefix: number): number {
    const buf = this.buf;
    if (this.pos >= buf.length) throw new HpackError('truncated integer');
    const max = (1 << prefix) - 1;
    let v = buf[this.pos++] & max;
    if (v < max) return v;
    let shift = 0;
    for (;;) {
      if (this.pos >= buf.length) throw new HpackError('truncated integer');
      const b = buf[this.pos++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) return v;
      if (shift > 28) throw new HpackError('integer too large');
    }
  }

  /**
   * A string literal, or undefined (skipped) when it cannot fit in `room` bytes: a plain string
   * is measured before it is read, a Huffman-coded one (5 to 30 bits a character) is decoded only
   * until it passes `room`. With `forTable`, a string that could fit in the dynamic table is read
   * whole all the same (the table must stay in step with the peer's).
   */
  private str(room: number, forTable: boolean): string | undefined {
    if (this.pos >= this.buf.length) throw new HpackError('truncated string');
    const huffman = (this.buf[this.pos] & 0x80) !== 0;
    const len = this.int(7);
    const end = this.pos + len;
    if (end > this.buf.length) throw new HpackError('truncated string');
    const limit = forTable ? Math.max(room, this.limit) : room;
    let s: string | undefined;
    if (!huffman) s = len > limit ? undefined : this.buf.toString('latin1', this.pos, end);
    else if (Math.ceil((len * 8) / 30) > limit) s = undefined;
    else {
      try {
        s = huffmanDecode(this.buf, this.pos, end, Math.max(limit, 0));
      } catch (e) {
        throw new HpackError((e as Error).message);
      }
    }
    this.pos = end;
    return s;
  }
}

/** An HPACK integer (RFC 7541 §5.1) with an N-bit prefix, appended to `out`. */
export function encodeInt(out: number[], first: number, prefix: number, v: number): void {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function str(out: number[], s: string): void {
  const b = Buffer.from(s, 'latin1');
  encodeInt(out, 0, 7, b.length);
  for (const x of b) out.push(x);
}

/**
 * A header block of literals without indexing. `:status` 200 is the one indexed field; names
 * in the static table are referenced by index.
 */
export function encodeHeaders(headers: HeaderList): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    if (name === ':status' && value === '200') {
      out.push(0x88);
      continue;
    }
    const idx = STATIC.findIndex(([n]) => n === name);
    if (idx >= 0) encodeInt(out, 0x00, 4, idx + 1);
    else {
      out.push(0x00);
      str(out, name);
    }
    str(out, value);
  }
  return Buffer.from(out);
}
