/**
 * A json-file line decoded straight from the bytes read, for the shape the monitor (and Docker's
 * json-file driver) writes: `{"log":"…","stream":"stdout|stderr","time":"…"}`. The entry is a span
 * of the read buffer (LogLines), its log string unescaped in place (no string, no copy); any other
 * shape (keys reordered, `attrs`, spaces, bad escapes, control bytes, invalid UTF-8) goes to
 * JSON.parse, so both paths give the same entry or none.
 */
import { isUtf8 } from 'node:buffer';
import type { LogEntry } from '../types';
import { decodeLine, timeMs } from './files';
import type { LogLines } from './lines';

const PREFIX = Buffer.from('{"log":"');
/** What follows the log string, up to the time's opening quote; byte 12 tells the stream. */
const MIDDLE = Buffer.from('","stream":"stdout","time":"');
const STREAM_AT = 12;
const STREAM_CHARS = 6;

const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

/** The index into STREAMS of the stream named at `at`, -1 for another name. */
function streamAt(buf: Buffer, at: number): number {
  let out = true;
  let err = true;
  for (let k = 0; k < STREAM_CHARS; k++) {
    const b = buf[at + k];
    out &&= b === STDOUT[k];
    err &&= b === STDERR[k];
  }
  return out ? 0 : err ? 1 : -1;
}

/** 1 for the bytes that may follow a backslash (`u` is checked on its own). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
const UNESCAPED: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

function hex4(buf: Buffer, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const h = hexValue(buf[i + k]!);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/** Which entries a read keeps (`logs`' stream choice, --since and --until). */
export interface Keep {
  /** By index into STREAMS. */
  stream: readonly boolean[];
  /** By the time's text; unset: every time. */
  time?: (timestamp: string) => boolean;
  entry(e: LogEntry): boolean;
}

/**
 * Adds the line `lines.buf[start, end)` (no newline) to `lines` if it is an entry that `keep`
 * keeps. The line's log string may be unescaped in place.
 */
export function decodeLineInto(lines: LogLines, start: number, end: number, keep: Keep): void {
  if (fastDecode(lines, start, end, keep)) return;
  const e = decodeLine(lines.buf.toString('utf8', start, end));
  if (e && keep.entry(e)) lines.addEntry(e);
}

/** false: not the usual shape (the caller parses it as JSON); nothing in the buffer was changed then. */
function fastDecode(lines: LogLines, start: number, end: number, keep: Keep): boolean {
  const buf = lines.buf;
  if (end - start < PREFIX.length + MIDDLE.length + 3) return false;
  for (let k = 0; k < PREFIX.length; k++) if (buf[start + k] !== PREFIX[k]) return false;
  const s = start + PREFIX.length;
  let lastEscape = -1;
  let high = false;
  let i = s;
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x22) break;
    if (b === 0x5c) {
      lastEscape = i;
      if (i + 1 >= end) return false;
      const c = buf[++i]!;
      if (c === 0x75) {
        if (i + 4 >= end || hex4(buf, i + 1) < 0) return false;
        i += 4;
      } else if (!SIMPLE_ESCAPE[c]) return false;
    } else if (b < 0x20) return false;
    else if (b >= 0x80) high = true;
  }
  const q = i;
  if (q + MIDDLE.length + 2 > end) return false;
  for (let k = 0; k < STREAM_AT; k++) if (buf[q + k] !== MIDDLE[k]) return false;
  for (let k = STREAM_AT + STREAM_CHARS; k < MIDDLE.length; k++) if (buf[q + k] !== MIDDLE[k]) return false;
  const stream = streamAt(buf, q + STREAM_AT);
  if (stream < 0) return false;
  const ts = q + MIDDLE.length;
  const te = end - 2;
  if (buf[te] !== 0x22 || buf[end - 1] !== 0x7d || te < ts) return false;
  for (let k = ts; k < te; k++) {
    const b = buf[k]!;
    if (b < 0x20 || b >= 0x80 || b === 0x22 || b === 0x5c) return false;
  }
  if (high && !isUtf8(buf.subarray(s, q))) return false;
  if (!keep.stream[stream]) return true;
  let text: string | undefined;
  const timestamp = () => (text ??= buf.toString('latin1', ts, te));
  if (keep.time && !keep.time(timestamp())) return true;
  const ms = timeMsAt(buf, ts, te, timestamp);
  lines.addSpan(stream, s, lastEscape >= 0 ? unescapeInPlace(buf, s, q, lastEscape) : q, ts, te, ms);
  return true;
}

/** The second the last time started with (`YYYY-MM-DDTHH:MM:SS`): line after line repeats it. */
const lastSecond = Buffer.alloc(19);
let lastSecondMs = NaN;

/** A loop: cheaper than a call into Buffer.compare for 19 bytes. */
function sameSecond(buf: Buffer, ts: number): boolean {
  for (let k = 18; k >= 0; k--) if (buf[ts + k] !== lastSecond[k]) return false;
  return true;
}

/**
 * timeMs of the time `buf[ts, te)` (`text` gives it as a string), its second and milliseconds
 * read from the bytes; anything but `…SS[.fraction]Z` goes to timeMs.
 */
function timeMsAt(buf: Buffer, ts: number, te: number, text: () => string): number {
  const n = te - ts;
  if (n < 20 || buf[te - 1] !== 0x5a || (n > 20 && buf[ts + 19] !== 0x2e)) return timeMs(text());
  let ms = 0;
  for (let k = 0; k < 3; k++) {
    const at = ts + 20 + k;
    const d = at < te - 1 ? buf[at]! - 0x30 : 0;
    if (d < 0 || d > 9) return timeMs(text());
    ms = ms * 10 + d;
  }
  for (let at = ts + 23; at < te - 1; at++) if (buf[at]! < 0x30 || buf[at]! > 0x39) return timeMs(text());
  if (Number.isNaN(lastSecondMs) || !sameSecond(buf, ts)) {
    const sec = Date.parse(`${text().slice(0, 19)}Z`);
    if (Number.isNaN(sec)) return timeMs(text());
    buf.copy(lastSecond, 0, ts, ts + 19);
    lastSecondMs = sec;
  }
  return lastSecondMs + ms;
}

/** Writes the UTF-8 of a code point at `w`; returns the new write position. */
function putCodePoint(buf: Buffer, w: number, cp: number): number {
  if (cp < 0x80) buf[w++] = cp;
  else if (cp < 0x800) {
    buf[w++] = 0xc0 | (cp >> 6);
    buf[w++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    buf[w++] = 0xe0 | (cp >> 12);
    buf[w++] = 0x80 | ((cp >> 6) & 0x3f);
    buf[w++] = 0x80 | (cp & 0x3f);
  } else {
    buf[w++] = 0xf0 | (cp >> 18);
    buf[w++] = 0x80 | ((cp >> 12) & 0x3f);
    buf[w++] = 0x80 | ((cp >> 6) & 0x3f);
    buf[w++] = 0x80 | (cp & 0x3f);
  }
  return w;
}

/**
 * Unescapes the (already checked) JSON string body `buf[s, q)`, whose last backslash is at
 * `lastEscape`, in place; returns its new end.
 * The UTF-8 is never longer than the escape it comes from. A lone surrogate becomes U+FFFD, as
 * JSON.parse then Buffer.from(…, 'utf8') make it.
 */
function unescapeInPlace(buf: Buffer, s: number, q: number, lastEscape: number): number {
  let w = s;
  for (let r = s; r < q;) {
    // The run up to the next backslash moves as a block (not at all before the first escape).
    const runEnd = r > lastEscape ? q : buf.indexOf(0x5c, r);
    if (w !== r) buf.copyWithin(w, r, runEnd);
    w += runEnd - r;
    r = runEnd;
    if (r >= q) break;
    const c = buf[r + 1]!;
    if (c !== 0x75) {
      buf[w++] = UNESCAPED[c]!;
      r += 2;
      continue;
    }
    let cp = hex4(buf, r + 2);
    r += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && buf[r] === 0x5c && buf[r + 1] === 0x75 && r + 6 <= q) {
      const lo = hex4(buf, r + 2);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        r += 6;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    w = putCodePoint(buf, w, cp);
  }
  return w;
}
