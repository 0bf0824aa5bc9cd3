/**
 * `logs`: reads the json-file log the monitor writes, straight from the files (berthd is never in
 * the write path). `--tail N` reads backwards from the end, `--since`/`--until` filter on the
 * entries' times, and `follow` keeps reading as the monitor appends, across rotations (the file
 * at the path changes: the old one is read to its end first), woken by inotify on the log's
 * directory, until the container stops.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from '../../core/errors';
import type { LogEntry, LogsOptions } from '../types';
import { timeNs } from '../../core/time';
import { decodeLine, logFiles, tailLines } from './files';
import { decodeLineInto, type Keep } from './json-line';
import { LogLines, STREAMS } from './lines';

const READ_CHUNK = 256 << 10;
/** inotify can miss nothing we need, but a poll bounds any surprise (e.g. a file system without it). */
const POLL_MS = 500;

export interface FollowOptions {
  /** Settles when the container has stopped: the log is read to its end, then the stream ends. */
  stopped?: Promise<unknown>;
  signal?: AbortSignal;
}

function filter(o: LogsOptions): Keep {
  const stream = [o.stdout ?? true, o.stderr ?? true];
  const since = o.since ? BigInt(o.since.getTime()) * 1_000_000n : undefined;
  const until = o.until ? BigInt(o.until.getTime()) * 1_000_000n : undefined;
  const time =
    since === undefined && until === undefined
      ? undefined
      : (timestamp: string) => {
          const t = timeNs(timestamp);
          return (since === undefined || t >= since) && (until === undefined || t < until);
        };
  return { stream, time, entry: (e) => stream[STREAMS.indexOf(e.stream)]! && (!time || time(e.timestamp)) };
}

/**
 * Reads complete lines from `fh` at `offset`, one read's worth: returns them (undefined at the
 * end of the file) and the offset after the last newline.
 */
async function readLines(fh: FileHandle, offset: number, keep: Keep): Promise<{ lines?: LogLines; next: number }> {
  let carry: Buffer | undefined;
  let pos = offset;
  for (;;) {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) return { next: pos - (carry?.length ?? 0) };
    pos += bytesRead;
    const data = carry ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    // Lines are decoded from the bytes (a newline byte is never inside a UTF-8 sequence); the
    // entries are spans of `data`, which is this read's own.
    const end = data.lastIndexOf(10) + 1;
    if (end === 0) {
      carry = Buffer.from(data); // no line ends here yet: read on
      continue;
    }
    const lines = new LogLines(data);
    let start = 0;
    for (let nl = data.indexOf(10); nl >= 0 && nl < end; nl = data.indexOf(10, start)) {
      decodeLineInto(lines, start, nl, keep);
      start = nl + 1;
    }
    return { lines, next: pos - (data.length - end) };
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  return open(path, 'r').catch((e) => (errnoCode(e) === 'ENOENT' ? undefined : Promise.reject(e)));
}

interface Current {
  fh: FileHandle;
  ino: number;
  offset: number;
}

/** The entries one by one (see readLogBatches). */
export async function* readLog(path: string, o: LogsOptions = {}, f: FollowOptions = {}): AsyncGenerator<LogEntry> {
  for await (const batch of readLogBatches(path, o, f)) yield* batch;
}

/**
 * The entries in batches of one read each (about a thousand lines): a stream that sends many
 * entries at once (the engine API's Logs) spares an await and an object per entry.
 */
export async function* readLogBatches(path: string, o: LogsOptions = {}, f: FollowOptions = {}): AsyncGenerator<LogLines> {
  const keep = filter(o);
  const files = await logFiles(path);
  const at: { cur?: Current } = {};
  let cur: Current | undefined;
  let reading: FileHandle | undefined; // a file being read out (closed here if the consumer stops early)
  try {
    if (o.tail !== undefined) {
      const { lines, end } = o.tail > 0 ? await tailLines(files, o.tail) : { lines: [], end: undefined };
      const tail = lines.map(decodeLine).filter((e): e is LogEntry => !!e && keep.entry(e));
      if (tail.length) yield LogLines.of(tail);
      const fh = await openIfExists(path);
      if (fh) {
        const st = await fh.stat();
        cur = { fh, ino: st.ino, offset: end?.file === path ? end.offset : o.tail === 0 ? st.size : 0 };
        if (o.tail === 0) cur.offset = Math.max(0, cur.offset); // follow only new entries
      }
    } else {
      for (const file of files) {
        const fh = await openIfExists(file);
        if (!fh) continue;
        reading = fh;
        let offset = 0;
        for (;;) {
          const { lines, next } = await readLines(fh, offset, keep);
          if (lines?.length) yield lines;
          if (next === offset) break;
          offset = next;
        }
        if (file === path) cur = { fh, ino: (await fh.stat()).ino, offset };
        else await fh.close();
        reading = undefined;
      }
    }
    at.cur = cur;
    if (!o.follow) return;
    yield* follow(path, at, keep, f);
  } finally {
    await reading?.close().catch(() => undefined);
    await (at.cur ?? cur)?.fh.close().catch(() => undefined);
  }
}

/** Follows the file in `at.cur` (replacing it as the log rotates; the caller closes the last one). */
async function* follow(path: string, at: { cur?: Current }, keep: Keep, f: FollowOptions): AsyncGenerator<LogLines> {
  let wake: (() => void) | undefined;
  let changed: boolean;
  const poke = () => {
    changed = true;
    wake?.();
  };
  let stopped = false;
  void f.stopped?.then(() => {
    stopped = true;
    poke();
  });
  f.signal?.addEventListener('abort', poke, { once: true });
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, poke);
    watcher.on('error', () => undefined);
  } catch {
    /* no inotify: the poll does it */
  }
  try {
    for (;;) {
      if (f.signal?.aborted) return;
      const final = stopped; // read to the end once more after the stop
      changed = false;
      for (;;) {
        const cur = at.cur;
        if (cur) {
          for (;;) {
            const { lines, next } = await readLines(cur.fh, cur.offset, keep);
            if (lines?.length) yield lines;
            if (next === cur.offset) break;
            cur.offset = next;
          }
        }
        // Rotated (or created) meanwhile: the old file is read out, go on with the new one.
        const st = await stat(path).catch(() => undefined);
        if (!st || st.ino === cur?.ino) break;
        const fh = await openIfExists(path);
        if (!fh) break;
        at.cur = { fh, ino: (await fh.stat()).ino, offset: 0 };
        await cur?.fh.close();
      }
      if (final) return;
      if (!changed) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, POLL_MS);
        });
        clearTimeout(timer);
        wake = undefined;
      }
    }
  } finally {
    watcher?.close();
    f.signal?.removeEventListener('abort', poke);
  }
}
