/**
 * The json-file log as the monitor writes it (native/helper/logfile.c): `<id>-json.log` and its
 * rotated predecessors `.1` (newer) … `.N` (oldest). Entries are decoded here; the newest
 * entries can be found from the end (for --tail) without reading whole files.
 */
import { open, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode } from '../../core/errors';
import type { LogEntry } from '../types';

/** The log files oldest first (`path.N` … `path.1`, `path`), those that exist. */
export async function logFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a)
    .map((n) => join(dir, `${base}.${n}`));
  return names.includes(base) ? [...rotated, path] : rotated;
}

/** Date.parse is a third of a decode: the seconds part repeats line after line, so it is cached. */
let lastSecond = '';
let lastSecondMs = 0;
export function timeMs(t: string): number {
  if (t.length < 20 || !t.endsWith('Z') || (t.length > 20 && t[19] !== '.')) return Date.parse(t) || 0;
  const sec = t.slice(0, 19);
  if (sec !== lastSecond) {
    const ms = Date.parse(`${sec}Z`);
    if (Number.isNaN(ms)) return 0;
    lastSecond = sec;
    lastSecondMs = ms;
  }
  return lastSecondMs + (t.length > 21 ? Math.floor(Number(`0${t.slice(19, -1)}`) * 1000) : 0);
}

/** One log line (without its newline) as an entry; undefined for a line that is not one. */
export function decodeLine(line: string): LogEntry | undefined {
  let v: { log?: unknown; stream?: unknown; time?: unknown };
  try {
    v = JSON.parse(line) as typeof v;
  } catch {
    return undefined;
  }
  if (typeof v.time !== 'string' || (v.stream !== 'stdout' && v.stream !== 'stderr')) return undefined;
  return { stream: v.stream, timestamp: v.time, time: new Date(timeMs(v.time)), data: Buffer.from(typeof v.log === 'string' ? v.log : '', 'utf8') };
}

const BLOCK = 64 * 1024;

/**
 * The last `n` complete lines of the log (across rotated files), oldest first, read backwards in
 * blocks; and where in the newest file the lines end (to follow from there). A line still being
 * written (no newline yet) is not one.
 */
export async function tailLines(files: readonly string[], n: number): Promise<{ lines: string[]; end?: { file: string; offset: number } }> {
  const out: string[] = [];
  let end: { file: string; offset: number } | undefined;
  for (let f = files.length - 1; f >= 0 && out.length < n; f--) {
    const fh = await open(files[f]!, 'r').catch((e) => (errnoCode(e) === 'ENOENT' ? undefined : Promise.reject(e)));
    if (!fh) continue;
    try {
      let stop = (await fh.stat()).size;
      // `carry` is text that ends where a line ends (its newline already seen) and starts in an earlier block.
      let carry = Buffer.alloc(0);
      let trimmed = false;
      while (stop > 0 && out.length < n) {
        const start = Math.max(0, stop - BLOCK);
        const buf = Buffer.alloc(stop - start);
        await fh.read(buf, 0, buf.length, start);
        let chunk = carry.length ? Buffer.concat([buf, carry]) : buf;
        stop = start;
        if (!trimmed) {
          const nl = chunk.lastIndexOf(10);
          if (nl < 0) {
            carry = chunk; // all of it is an unfinished line
            continue;
          }
          if (f === files.length - 1) end = { file: files[f]!, offset: start + nl + 1 };
          chunk = chunk.subarray(0, nl);
          trimmed = true;
        }
        let pos = chunk.length;
        for (let nl = pos > 0 ? chunk.lastIndexOf(10, pos - 1) : -1; nl >= 0 && out.length < n; nl = pos > 0 ? chunk.lastIndexOf(10, pos - 1) : -1) {
          out.push(chunk.subarray(nl + 1, pos).toString('utf8'));
          pos = nl;
        }
        carry = chunk.subarray(0, pos);
        if (start === 0 && trimmed && out.length < n && carry.length > 0) out.push(carry.toString('utf8')); // the file's first line
      }
    } finally {
      await fh.close();
    }
  }
  return { lines: out.reverse(), end };
}
