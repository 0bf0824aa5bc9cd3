/** Docker's option values: sizes (go-units), CPUs, signals, log options. */
import { availableParallelism, constants } from 'node:os';
import { invalidArgument } from '../core/errors';
import type { LogConfig } from './types';

const SIZE_RE = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const UNITS = 'kmgtp';

/** go-units: RAMInBytes (binary multiples) or FromHumanSize (decimal), as Docker uses each. */
export function parseSize(v: number | string, what: string, base: 1024 | 1000 = 1024): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${what}: invalid size ${v}`);
    return v;
  }
  const m = SIZE_RE.exec(v.trim());
  if (!m) throw invalidArgument(`${what}: invalid size ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  const exp = m[2] ? UNITS.indexOf(m[2].toLowerCase()) + 1 : 0;
  const bytes = Math.trunc(n * base ** exp);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`${what}: size ${JSON.stringify(v)} is too large`);
  return bytes;
}

/** `--memory`: Docker refuses limits below 6 MiB. */
export function parseMemory(v: number | string | undefined): number {
  if (v === undefined || v === '' || v === 0) return 0;
  const bytes = parseSize(v, 'memory');
  if (bytes < 6 * 1024 * 1024) throw invalidArgument(`minimum memory limit allowed is 6MB (got ${JSON.stringify(v)})`);
  return bytes;
}

/** `--cpus` as NanoCpus; Docker refuses more than the host has. */
export function parseCpus(v: number | string | undefined): number {
  if (v === undefined || v === '' || v === 0) return 0;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < 0 || (typeof v === 'string' && !/^\d+(\.\d+)?$/.test(v.trim())))
    throw invalidArgument(`invalid --cpus value ${JSON.stringify(v)}`);
  const nano = Math.round(n * 1e9);
  const cpus = availableParallelism();
  if (nano < 1e7 || nano > cpus * 1e9) throw invalidArgument(`range of CPUs is from 0.01 to ${cpus.toFixed(2)}, as there are only ${cpus} CPUs available`);
  return nano;
}

/** Docker's signal.ParseSignal: `SIGTERM`, `term`, `15`. */
export function parseSignal(v: string | number): number {
  if (typeof v === 'number' || /^\d+$/.test(v)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw invalidArgument(`invalid signal: ${v}`);
    return n;
  }
  const name = v.toUpperCase().replace(/^SIG/, '');
  const n = (constants.signals as Record<string, number>)[`SIG${name}`];
  if (n === undefined) throw invalidArgument(`invalid signal: ${v}`);
  return n;
}

/** The name Docker shows for a signal number (`SIGTERM`), or the number. */
export function signalName(n: number): string {
  for (const [k, v] of Object.entries(constants.signals)) if (v === n) return k;
  return String(n);
}

/** json-file `--log-opt`s: max-size (decimal units, as Docker's FromHumanSize), max-file. */
export function parseLogOpts(opts: Record<string, string> | undefined, defaults: LogConfig): LogConfig {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(opts ?? {})) {
    if (k === 'max-size') {
      out.maxSize = v === '-1' ? 0 : parseSize(v, 'log-opt max-size', 1000);
      if (out.maxSize <= 0 && v !== '-1') throw invalidArgument('log-opt max-size must be a positive number');
    } else if (k === 'max-file') {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 1000) throw invalidArgument(`log-opt max-file must be a number from 1 to 1000 (got ${JSON.stringify(v)})`);
      out.maxFile = n;
    } else throw invalidArgument(`unknown log opt '${k}' for json-file log driver`);
  }
  if (out.maxFile > 1 && out.maxSize === 0) out.maxFile = 1; // nothing to rotate without a size
  return out;
}
