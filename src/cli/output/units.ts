/** Docker's size and time formats (go-units, docker/cli's formatter). */
import { humanDuration } from '../../core/human';
import { goDurationMs } from '../../core/time';
import { CliError } from '../command';

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function custom(size: number, base: number, units: string[], precision: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${Number(size.toPrecision(precision))}${units[i]}`;
}

/** go-units HumanSizeWithPrecision(size, 3), as `docker images` shows sizes: `4.26MB`. */
export const humanSize = (bytes: number) => custom(bytes, 1000, DECIMAL, 3);

/** go-units BytesSize, as `docker stats` shows memory: `1.953MiB`. */
export const bytesSize = (bytes: number) => custom(bytes, 1024, BINARY, 4);

/** `2 minutes ago`. */
export const ago = (d: Date | undefined, now = Date.now()) => (d ? `${humanDuration(Math.max(0, now - d.getTime()))} ago` : '');

/** Go's time.Time String() as docker/cli prints CreatedAt: `2024-01-02 15:04:05 +0000 UTC`. */
export function goTime(d: Date | undefined): string {
  if (!d) return '';
  return `${d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} +0000 UTC`;
}

/**
 * `--since`/`--until` as Docker reads them: RFC 3339 (with or without nanoseconds or a zone),
 * a date, Unix seconds (with a fraction), or a Go duration back from now (`10m`, `1h30m`).
 */
export function parseTimeArg(v: string, flag: string, now = Date.now()): Date | undefined {
  const s = v.trim();
  if (!s) return undefined;
  const ago = goDurationMs(s);
  if (ago !== undefined) return new Date(now - ago);
  if (/^\d+(\.\d+)?$/.test(s)) return new Date(Math.floor(Number(s) * 1000));
  const withZone = /^\d{4}-\d\d-\d\d$/.test(s) ? `${s}T00:00:00Z` : /[zZ]|[+-]\d\d:?\d\d$/.test(s.slice(10)) ? s : `${s}Z`;
  const t = Date.parse(withZone);
  if (Number.isNaN(t))
    throw new CliError(`invalid value for ${flag}: ${JSON.stringify(v)} (a time such as 2024-01-02T15:04:05Z, Unix seconds, or a duration such as 10m)`, 125);
  return new Date(t);
}
