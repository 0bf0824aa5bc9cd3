/**
 * Command-line flags the way Docker's CLI (spf13/pflag) reads them: `--name value`,
 * `--name=value`, `-n value`, `-nvalue`, `-n=value`, grouped short booleans (`-it`),
 * `--bool=false`, repeatable flags, `--` to end the flags, and, for commands that run a command
 * of their own (run, exec, create), no flags after the first positional argument. Errors carry
 * pflag's wording. node:util's parseArgs cannot stop at the first positional argument, and
 * commander costs ~6 ms of start-up (measured for milestone 2: `node -e 0` 52 ms, with
 * parseArgs 55, with commander 61) where this file costs nothing measurable.
 */

export type FlagType = 'bool' | 'string' | 'strings' | 'int';

export interface FlagSpec {
  type: FlagType;
  short?: string;
  desc: string;
  /** Shown in help: `--name string`. */
  placeholder?: string;
  /** For help only (`(default 10)`); the command applies its own defaults. */
  defaultText?: string;
  /** A bool that is on unless `--name=false` (Docker's `--sig-proxy`). */
  defaultTrue?: boolean;
  hidden?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'bool' ? boolean : S['type'] extends 'strings' ? string[] : S['type'] extends 'int' ? number : string;

/** Parsed flags: booleans are false and lists empty when not given; strings and ints are undefined. */
export type Flags<F extends FlagSpecs> = {
  [K in keyof F]: F[K]['type'] extends 'bool' ? boolean : F[K]['type'] extends 'strings' ? string[] : ValueOf<F[K]> | undefined;
};

export class UsageError extends Error {}

export interface ParseResult<F extends FlagSpecs> {
  flags: Flags<F>;
  args: string[];
  /** `--help` was given. */
  help: boolean;
}

/** Keys are camelCase in code and kebab-case on the command line (`envFile` ↔ `--env-file`). */
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function parseArgs<F extends FlagSpecs>(specs: F, argv: readonly string[], opts: { interspersed?: boolean } = {}): ParseResult<F> {
  const byLong = new Map<string, [string, FlagSpec]>();
  const byShort = new Map<string, [string, FlagSpec]>();
  for (const [k, s] of Object.entries(specs)) {
    byLong.set(flagName(k), [k, s]);
    if (s.short) byShort.set(s.short, [k, s]);
  }
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(specs)) out[k] = s.type === 'bool' ? (s.defaultTrue ?? false) : s.type === 'strings' ? [] : undefined;
  const args: string[] = [];
  let help = false;
  const interspersed = opts.interspersed ?? true;

  const set = (key: string, s: FlagSpec, shown: string, v: string) => {
    if (s.type === 'strings') (out[key] as string[]).push(v);
    else if (s.type === 'int') {
      if (!/^-?\d+$/.test(v)) throw new UsageError(`invalid argument "${v}" for "${shown}" flag: not an integer`);
      out[key] = Number(v);
    } else out[key] = v;
  };
  const setBool = (key: string, shown: string, v: string | undefined) => {
    if (v === undefined || v === 'true' || v === '1') out[key] = true;
    else if (v === 'false' || v === '0') out[key] = false;
    else throw new UsageError(`invalid argument "${v}" for "${shown}" flag: not a boolean`);
  };
  const shownOf = (key: string, s: FlagSpec) => (s.short ? `-${s.short}, --${flagName(key)}` : `--${flagName(key)}`);

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      const hit = byLong.get(name);
      if (!hit) {
        if (name === 'help') {
          help = true;
          continue;
        }
        throw new UsageError(`unknown flag: --${name}`);
      }
      const [key, s] = hit;
      if (s.type === 'bool') setBool(key, shownOf(key, s), inline);
      else if (inline !== undefined) set(key, s, shownOf(key, s), inline);
      else if (i + 1 < argv.length) set(key, s, shownOf(key, s), argv[++i]!);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const hit = byShort.get(c);
        if (!hit) {
          if (c === 'h' && !byShort.has('h')) {
            help = true;
            continue;
          }
          throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        }
        const [key, s] = hit;
        const rest = a.slice(j + 1);
        if (s.type === 'bool') {
          if (rest.startsWith('=')) {
            setBool(key, shownOf(key, s), rest.slice(1));
            break;
          }
          setBool(key, shownOf(key, s), undefined);
          continue;
        }
        if (rest) set(key, s, shownOf(key, s), rest.startsWith('=') ? rest.slice(1) : rest);
        else if (i + 1 < argv.length) set(key, s, shownOf(key, s), argv[++i]!);
        else throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
        break;
      }
      continue;
    }
    if (!interspersed) {
      args.push(...argv.slice(i));
      break;
    }
    args.push(a);
  }
  return { flags: out as Flags<F>, args, help };
}
