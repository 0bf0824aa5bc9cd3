/**
 * Engine/Logs' LogBatch messages written straight from the engine's batches (LogLines): the same
 * bytes as LogBatch.encode of the entries' logEntryToProto (field order, proto3 defaults left out),
 * without a message object, a Timestamp, an int64 string and a writer fork per entry (a 100 MiB
 * log is a million), the usual lines copied from the spans the reader found.
 */
import type { LogEntry } from '../../engine';
import { type LogLines, STREAMS } from '../../engine/logs/lines';

/** A message's worth of log entries: up to this many bytes of data (the first entry always fits). */
export const LOG_BATCH_BYTES = 256 << 10;

function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (n = Math.floor(n / 0x800000000); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** Writes a non-negative integer (< 2^53) as a varint at `pos`; returns the new position. */
function putVarint(buf: Buffer, pos: number, n: number): number {
  if (n < 0x80) {
    buf[pos] = n;
    return pos + 1;
  }
  // 32-bit operations while the value fits them (every size and length; seconds until 2038).
  if (n < 0x80000000) {
    do {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    } while (n >= 0x80);
  } else {
    while (n >= 0x80) {
      buf[pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
  }
  buf[pos++] = n;
  return pos;
}

/** A negative int64 goes as its 64-bit two's complement (10 bytes). */
function putBigVarint(buf: Buffer, pos: number, n: bigint): number {
  while (n >= 0x80n) {
    buf[pos++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  buf[pos++] = Number(n);
  return pos;
}

/** Timestamp's size for a time in ms (toTimestamp's fields: seconds, then nanos; zeros left out). */
function timeSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  return (seconds === 0 ? 0 : 1 + (seconds > 0 ? varintSize(seconds) : 10)) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
}

function putTime(buf: Buffer, pos: number, ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  buf[pos++] = 0x12;
  pos = putVarint(buf, pos, timeSize(ms));
  if (seconds !== 0) {
    buf[pos++] = 0x08;
    pos = seconds > 0 ? putVarint(buf, pos, seconds) : putBigVarint(buf, pos, BigInt.asUintN(64, BigInt(seconds)));
  }
  if (nanos !== 0) {
    buf[pos++] = 0x10;
    pos = putVarint(buf, pos, nanos);
  }
  return pos;
}

/** The size of an entry's message from its fields' sizes (stream and time always set by the reader). */
function entrySize(stream: number, ms: number, tsBytes: number, dataBytes: number): number {
  const time = timeSize(ms);
  return (
    (stream ? 2 + stream : 0) +
    1 +
    varintSize(time) +
    time +
    (tsBytes ? 1 + varintSize(tsBytes) + tsBytes : 0) +
    (dataBytes ? 1 + varintSize(dataBytes) + dataBytes : 0)
  );
}

/** A short copy in a loop (a timestamp): cheaper than a call into Buffer.copy. */
function putBytes(out: Buffer, pos: number, src: Buffer, start: number, end: number): number {
  if (end - start > 64) return pos + src.copy(out, pos, start, end);
  for (let i = start; i < end; i++) out[pos++] = src[i]!;
  return pos;
}

function putHeader(out: Buffer, pos: number, tag: number, len: number): number {
  out[pos++] = tag;
  return putVarint(out, pos, len);
}

function putObject(out: Buffer, pos: number, e: LogEntry, size: number, tsBytes: number): number {
  pos = putHeader(out, pos, 0x0a, size);
  if (e.stream.length) {
    pos = putHeader(out, pos, 0x0a, e.stream.length);
    pos += out.write(e.stream, pos, 'latin1');
  }
  pos = putTime(out, pos, e.time.getTime());
  if (tsBytes) {
    pos = putHeader(out, pos, 0x1a, tsBytes);
    pos += out.write(e.timestamp, pos, 'utf8');
  }
  if (e.data.length) {
    pos = putHeader(out, pos, 0x22, e.data.length);
    pos += e.data.copy(out, pos);
  }
  return pos;
}

const STREAM_BYTES = STREAMS.map((s) => Buffer.from(s, 'latin1'));

function putSpan(out: Buffer, pos: number, l: LogLines, i: number, size: number): number {
  pos = putHeader(out, pos, 0x0a, size);
  const stream = STREAM_BYTES[l.stream[i]!]!;
  pos = putBytes(out, putHeader(out, pos, 0x0a, stream.length), stream, 0, stream.length);
  pos = putTime(out, pos, l.ms[i]!);
  const ts = l.timeEnd[i]! - l.timeStart[i]!;
  if (ts) pos = putBytes(out, putHeader(out, pos, 0x1a, ts), l.buf, l.timeStart[i]!, l.timeEnd[i]!);
  const data = l.dataEnd[i]! - l.dataStart[i]!;
  if (data) {
    pos = putHeader(out, pos, 0x22, data);
    pos += l.buf.copy(out, pos, l.dataStart[i]!, l.dataEnd[i]!);
  }
  return pos;
}

function encode(l: LogLines, from: number, to: number, sizes: Float64Array, tsBytes: Float64Array): Buffer {
  let total = 0;
  for (let i = from; i < to; i++) total += 1 + varintSize(sizes[i]!) + sizes[i]!;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = from; i < to; i++) {
    const o = l.object(i);
    pos = o ? putObject(out, pos, o, sizes[i]!, tsBytes[i]!) : putSpan(out, pos, l, i, sizes[i]!);
  }
  return out;
}

/** A batch's entries as encoded LogBatch messages of at most LOG_BATCH_BYTES of data each, in order. */
export function* encodeLogBatches(l: LogLines): Generator<Buffer> {
  const sizes = new Float64Array(l.length);
  const tsBytes = new Float64Array(l.length);
  let from = 0;
  let size = 0;
  for (let i = 0; i < l.length; i++) {
    const o = l.object(i);
    let data: number;
    if (o) {
      data = o.data.length;
      tsBytes[i] = o.timestamp.length === 0 ? 0 : Buffer.byteLength(o.timestamp, 'utf8');
      sizes[i] = entrySize(o.stream.length, o.time.getTime(), tsBytes[i]!, data);
    } else {
      data = l.dataEnd[i]! - l.dataStart[i]!;
      sizes[i] = entrySize(STREAMS[l.stream[i]!]!.length, l.ms[i]!, l.timeEnd[i]! - l.timeStart[i]!, data);
    }
    if (i > from && size + data > LOG_BATCH_BYTES) {
      yield encode(l, from, i, sizes, tsBytes);
      from = i;
      size = 0;
    }
    size += data;
  }
  if (l.length > from) yield encode(l, from, l.length, sizes, tsBytes);
}
