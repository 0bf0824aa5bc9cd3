/**
 * The few DNS messages berth's resolver reads and writes (RFC 1035): a query's header and single
 * question, and answers of A and PTR records. Everything read from the wire is bounds-checked;
 * a message that does not parse is `undefined` (dropped), never an exception.
 */

export const TYPE_A = 1;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

/** A plain UDP answer must fit here unless the client said (EDNS) it takes more. */
export const UDP_LIMIT = 512;
const HEADER = 12;
const MAX_NAME = 255;

export interface Query {
  id: number;
  /** The header's flags word as sent. */
  flags: number;
  opcode: number;
  /** Lower-case, no trailing dot ('' for the root). */
  name: string;
  qtype: number;
  qclass: number;
  /** The question's bytes as sent (echoed in the answer). */
  question: Buffer;
  /** The largest UDP answer the client takes (EDNS OPT's size, else 512). */
  udpSize: number;
}

/** Reads a name at `off`; pointers are followed (backwards only, so no loops). */
function readName(b: Buffer, off: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let end = -1;
  let total = 0;
  let pos = off;
  for (let hops = 0; hops < 64; hops++) {
    if (pos >= b.length) return undefined;
    const len = b[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name: labels.join('.'), end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= b.length) return undefined;
      const target = ((len & 0x3f) << 8) | b[pos + 1]!;
      if (target >= pos) return undefined;
      if (end < 0) end = pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return undefined;
    if (pos + 1 + len > b.length) return undefined;
    total += len + 1;
    if (total > MAX_NAME) return undefined;
    labels.push(b.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return undefined;
}

/** Skips a resource record; returns its type, its class field and where it ends. */
function readRecordHead(b: Buffer, off: number): { type: number; klass: number; end: number } | undefined {
  const n = readName(b, off);
  if (!n || n.end + 10 > b.length) return undefined;
  const type = b.readUInt16BE(n.end);
  const klass = b.readUInt16BE(n.end + 2);
  const rdlen = b.readUInt16BE(n.end + 8);
  const end = n.end + 10 + rdlen;
  return end > b.length ? undefined : { type, klass, end };
}

/** The header alone (for a reply to a message whose body does not parse). */
export function readHeader(b: Buffer): { id: number; flags: number; qd: number; an: number; ns: number; ar: number } | undefined {
  if (b.length < HEADER) return undefined;
  return { id: b.readUInt16BE(0), flags: b.readUInt16BE(2), qd: b.readUInt16BE(4), an: b.readUInt16BE(6), ns: b.readUInt16BE(8), ar: b.readUInt16BE(10) };
}

/** A query with exactly one question, or undefined. */
export function parseQuery(b: Buffer): Query | undefined {
  const h = readHeader(b);
  if (!h || h.flags & 0x8000 || h.qd !== 1) return undefined;
  const n = readName(b, HEADER);
  if (!n || n.end + 4 > b.length) return undefined;
  const qtype = b.readUInt16BE(n.end);
  const qclass = b.readUInt16BE(n.end + 2);
  let udpSize = UDP_LIMIT;
  // An OPT record in the additional section says how large an answer the client takes.
  let off = n.end + 4;
  for (let i = 0; i < h.an + h.ns + h.ar && off < b.length; i++) {
    const r = readRecordHead(b, off);
    if (!r) break;
    if (i >= h.an + h.ns && r.type === 41) udpSize = Math.min(4096, Math.max(UDP_LIMIT, r.klass));
    off = r.end;
  }
  return { id: h.id, flags: h.flags, opcode: (h.flags >> 11) & 0xf, name: n.name, qtype, qclass, question: b.subarray(HEADER, n.end + 4), udpSize };
}

export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs: Buffer[] = [];
  for (const p of parts) {
    const l = Buffer.from(p, 'latin1').subarray(0, 63);
    bufs.push(Buffer.from([l.length]), l);
  }
  bufs.push(Buffer.from([0]));
  return Buffer.concat(bufs);
}

export type Answer = { type: 'A'; address: string; ttl: number } | { type: 'PTR'; name: string; ttl: number };

function encodeAnswer(a: Answer): Buffer {
  const rdata = a.type === 'A' ? Buffer.from(a.address.split('.').map(Number)) : encodeName(a.name);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc000 | HEADER, 0); // the question's name
  rr.writeUInt16BE(a.type === 'A' ? TYPE_A : TYPE_PTR, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(a.ttl, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([rr, rdata]);
}

/**
 * An answer to `q`: authoritative, recursion available, the question echoed. Answers that do
 * not fit `limit` are left off and the TC bit set, as a server does (the client asks again
 * over TCP).
 */
export function buildResponse(q: Pick<Query, 'id' | 'flags' | 'question'>, rcode: Rcode, answers: readonly Answer[] = [], limit = 65535): Buffer {
  const head = Buffer.alloc(HEADER);
  const rd = q.flags & 0x0100;
  const opcode = q.flags & 0x7800;
  let flags = 0x8000 | opcode | 0x0400 | rd | 0x0080 | rcode;
  const parts: Buffer[] = [head, q.question];
  let size = HEADER + q.question.length;
  let count = 0;
  for (const a of answers) {
    const rr = encodeAnswer(a);
    if (size + rr.length > limit) {
      flags |= 0x0200;
      break;
    }
    parts.push(rr);
    size += rr.length;
    count++;
  }
  head.writeUInt16BE(q.id, 0);
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(q.question.length ? 1 : 0, 4);
  head.writeUInt16BE(count, 6);
  return Buffer.concat(parts, size);
}

/** A reply carrying only an rcode, for a message whose question could not be read (FORMERR, NOTIMP). */
export function bareResponse(id: number, flags: number, rcode: Rcode): Buffer {
  const b = Buffer.alloc(HEADER);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0080 | rcode, 2);
  return b;
}

/** `10.213.1.2` → `2.1.213.10.in-addr.arpa`, and back (undefined for any other name). */
export function ptrName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

export function ipOfPtrName(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  return m ? [m[4], m[3], m[2], m[1]].join('.') : undefined;
}

/** The id a reply carries (to match an upstream's answer to its query). */
export function messageId(b: Buffer): number | undefined {
  return b.length >= 2 ? b.readUInt16BE(0) : undefined;
}
