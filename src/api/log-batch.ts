/**
 * berth.engine.v1.LogBatch decoded by hand for Engine/Logs' clients (a 100 MiB log is a million
 * entries): the messages the generated decoder makes, with each entry's data a view of the
 * message (no copy), the stream names shared and a second's string made once. Anything the
 * usual encoding does not have (another field, a wire type, a negative or huge time) goes to the
 * generated decoder.
 */
import type { LogBatch, LogEntry } from './gen/berth/engine/v1/engine';

/** Where the last varint read ended. */
let at = 0;

/** A varint of at most 7 bytes (< 2^49, exact as a number) at `pos`, or -1. */
function varint(buf: Buffer, pos: number, end: number): number {
  let n = 0;
  let mul = 1;
  for (let k = 0; k < 7 && pos < end; k++) {
    const b = buf[pos++]!;
    n += (b & 0x7f) * mul;
    if (b < 0x80) {
      at = pos;
      return n;
    }
    mul *= 128;
  }
  return -1;
}

const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

function equals(buf: Buffer, start: number, name: Buffer): boolean {
  for (let k = 0; k < name.length; k++) if (buf[start + k] !== name[k]) return false;
  return true;
}

/** A loop, not Buffer.compare (a call each): this runs for every entry. */
function text(buf: Buffer, start: number, end: number): string {
  if (end - start === 6) {
    if (equals(buf, start, STDOUT)) return 'stdout';
    if (equals(buf, start, STDERR)) return 'stderr';
  }
  return buf.toString('utf8', start, end);
}

let lastSeconds = -1;
let lastSecondsText = '';

function secondsText(n: number): string {
  if (n !== lastSeconds) {
    lastSeconds = n;
    lastSecondsText = String(n);
  }
  return lastSecondsText;
}

/** One LogEntry in `buf[pos, end)`; undefined when it is not the usual encoding. */
function entry(buf: Buffer, pos: number, end: number): LogEntry | undefined {
  const e: LogEntry = { stream: '', time: undefined, timestamp: '', data: EMPTY };
  while (pos < end) {
    const tag = buf[pos++]!;
    const len = varint(buf, pos, end);
    if (len < 0 || at + len > end) return undefined;
    pos = at + len;
    if (tag === 0x0a) e.stream = text(buf, at, pos);
    else if (tag === 0x1a) e.timestamp = buf.toString('utf8', at, pos);
    else if (tag === 0x22) e.data = buf.subarray(at, pos);
    else if (tag === 0x12) {
      const t = { seconds: '0', nanos: 0 };
      for (let p = at; p < pos; p = at) {
        const f = buf[p++]!;
        const v = varint(buf, p, pos);
        if (v < 0 || (f !== 0x08 && f !== 0x10) || (f === 0x10 && v > 0x7fffffff)) return undefined;
        if (f === 0x08) t.seconds = secondsText(v);
        else t.nanos = v;
      }
      e.time = t;
    } else return undefined;
  }
  return e;
}

const EMPTY = Buffer.alloc(0);

/** `generated`: the generated decoder (the engine's generated file is loaded by whoever calls the method). */
export function decodeLogBatch(input: Uint8Array, generated: (b: Uint8Array) => unknown): LogBatch {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const entries: LogEntry[] = [];
  for (let pos = 0; pos < buf.length;) {
    const len = buf[pos] === 0x0a ? varint(buf, pos + 1, buf.length) : -1;
    const start = at;
    const e = len < 0 || start + len > buf.length ? undefined : entry(buf, start, start + len);
    if (!e) return generated(input) as LogBatch;
    entries.push(e);
    pos = start + len;
  }
  return { entries };
}
