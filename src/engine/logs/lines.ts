/**
 * A batch of log entries as read from one buffer, without an object per line: the usual lines as
 * spans of the buffer (their data unescaped in place, their time's text and its milliseconds),
 * any other as a LogEntry of its own. A stream that encodes batches (Engine/Logs) reads the spans;
 * iterating makes the entries.
 */
import type { LogEntry } from '../types';

export const STREAMS = ['stdout', 'stderr'] as const;

function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

export class LogLines implements Iterable<LogEntry> {
  length = 0;
  dataStart: Int32Array;
  dataEnd: Int32Array;
  timeStart: Int32Array;
  timeEnd: Int32Array;
  ms: Float64Array;
  /** Index into STREAMS. */
  stream: Uint8Array;
  /** Lines that are not spans of buf, by index. */
  private objects: Map<number, LogEntry> | undefined;

  constructor(
    readonly buf: Buffer,
    capacity = Math.max(16, buf.length >> 7),
  ) {
    this.dataStart = new Int32Array(capacity);
    this.dataEnd = new Int32Array(capacity);
    this.timeStart = new Int32Array(capacity);
    this.timeEnd = new Int32Array(capacity);
    this.ms = new Float64Array(capacity);
    this.stream = new Uint8Array(capacity);
  }

  static of(entries: readonly LogEntry[]): LogLines {
    const l = new LogLines(Buffer.alloc(0), 0);
    for (const e of entries) l.addEntry(e);
    return l;
  }

  addSpan(stream: number, dataStart: number, dataEnd: number, timeStart: number, timeEnd: number, ms: number): void {
    const i = this.length++;
    if (i >= this.ms.length) {
      const n = Math.max(16, this.ms.length * 2);
      this.dataStart = grown(this.dataStart, n);
      this.dataEnd = grown(this.dataEnd, n);
      this.timeStart = grown(this.timeStart, n);
      this.timeEnd = grown(this.timeEnd, n);
      this.ms = grown(this.ms, n);
      this.stream = grown(this.stream, n);
    }
    this.dataStart[i] = dataStart;
    this.dataEnd[i] = dataEnd;
    this.timeStart[i] = timeStart;
    this.timeEnd[i] = timeEnd;
    this.ms[i] = ms;
    this.stream[i] = stream;
  }

  addEntry(e: LogEntry): void {
    (this.objects ??= new Map()).set(this.length++, e);
  }

  /** The entry at `i` when it is not a span (undefined for a span). */
  object(i: number): LogEntry | undefined {
    return this.objects?.get(i);
  }

  entry(i: number): LogEntry {
    const o = this.object(i);
    if (o) return o;
    return {
      stream: STREAMS[this.stream[i]!]!,
      timestamp: this.buf.toString('latin1', this.timeStart[i], this.timeEnd[i]),
      time: new Date(this.ms[i]!),
      data: this.buf.subarray(this.dataStart[i], this.dataEnd[i]),
    };
  }

  *[Symbol.iterator](): Iterator<LogEntry> {
    for (let i = 0; i < this.length; i++) yield this.entry(i);
  }
}
