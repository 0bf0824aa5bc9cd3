/** Helpers the commands share: filters, short ids, and Docker's one-line-per-argument loops. */
import { CallError } from '../../client';
import { SupervisorError } from '../../core/errors';
import type { Cli } from '../cli';
import { CliError } from '../command';

/** `-f key=value` flags as the engine's filter map. */
export function filterMap(list: readonly string[]): Record<string, { values: string[] }> {
  const out: Record<string, { values: string[] }> = {};
  for (const f of list) {
    const i = f.indexOf('=');
    if (i <= 0) throw new CliError(`bad format of filter (expected name=value): ${f}`, 125);
    (out[f.slice(0, i).toLowerCase()] ??= { values: [] }).values.push(f.slice(i + 1));
  }
  return out;
}

export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** A failure's message as the commands print it after `Error response from daemon:`. */
export function messageOf(e: unknown): string {
  if (e instanceof CallError) return `Error response from daemon: ${e.message}`;
  if (e instanceof SupervisorError || e instanceof CliError) return `Error: ${e.message}`;
  return `Error: ${(e as Error)?.message ?? String(e)}`;
}

/**
 * Docker's loop over several containers or images: each one that works prints its argument (or
 * what `fn` returns), each failure its error line; the exit code is 1 if any failed.
 */
export async function forEachArg(cli: Cli, args: readonly string[], fn: (arg: string) => Promise<string | string[] | void>): Promise<number> {
  let failed = 0;
  for (const a of args) {
    try {
      const r = await fn(a);
      const lines = r === undefined ? [a] : Array.isArray(r) ? r : [r];
      if (lines.length) await cli.out(lines.map((l) => `${l}\n`).join(''));
    } catch (e) {
      failed++;
      await cli.err(`${messageOf(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** `key=value` arguments as labels (a bare key is an empty value). */
export function keyValueArgs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    out[i < 0 ? a : a.slice(0, i)] = i < 0 ? '' : a.slice(i + 1);
  }
  return out;
}
