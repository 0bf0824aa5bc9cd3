/**
 * The local driver's options (`docker volume create -o type=tmpfs -o device=tmpfs -o o=size=64m`),
 * checked with Docker's rules and messages. Plain directories need none; a mounted volume
 * (type/device/o: tmpfs, a bind of a host path, a device) is mounted on its directory while a
 * container using it runs (local.ts).
 */
import { invalidArgument, notFound } from '../core/errors';

export const LOCAL_DRIVER = 'local';

const VALID = new Set(['type', 'o', 'device', 'size']);
/** An option that needs others (Docker's mandatoryOpts). */
const REQUIRES: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };

export function checkDriver(driver: string | undefined): string {
  const d = driver || LOCAL_DRIVER;
  if (d !== LOCAL_DRIVER) throw notFound(`error looking up volume plugin ${d}: plugin "${d}" not found`);
  return d;
}

export function validateLocalOptions(opts: Record<string, string>): Record<string, string> {
  for (const k of Object.keys(opts)) if (!VALID.has(k)) throw invalidArgument(`invalid option: ${JSON.stringify(k)}`);
  if (opts.size !== undefined) {
    if (!/^\d+(\.\d+)?\s*([kmgtp]i?b?|b)?$/i.test(opts.size)) throw invalidArgument(`invalid size: '${opts.size}'`);
    if (parseFloat(opts.size) > 0) throw invalidArgument('quota size requested but no quota support');
  }
  for (const [k, needs] of Object.entries(REQUIRES)) {
    if (opts[k] === undefined) continue;
    for (const n of needs) if (opts[n] === undefined) throw invalidArgument(`missing required option: ${JSON.stringify(n)}`);
  }
  return { ...opts };
}

/** The volume is a mount (tmpfs, a bind of a host path, a device), not a plain directory. */
export function needsMount(opts: Record<string, string>): boolean {
  return opts.type !== undefined || opts.device !== undefined;
}
