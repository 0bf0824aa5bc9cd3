/**
 * What a command is: its usage line, one-line summary, flags and run(). Each command is one file
 * under commands/<noun>/<verb>.ts exporting `command`; bin.ts's table names it and loads it only
 * when it runs (or for help and completion).
 */
import type { FlagSpecs, Flags } from './args';
import type { Cli } from './cli';

export interface Command<F extends FlagSpecs = FlagSpecs> {
  /** What follows the command's name in `Usage:`, e.g. `[OPTIONS] CONTAINER [CONTAINER...]`. */
  usage: string;
  summary: string;
  /** Longer text under the usage line in `--help`. */
  description?: string;
  flags: F;
  minArgs?: number;
  maxArgs?: number;
  /** false: flags end at the first argument (the rest is the container's command, as `run`'s). */
  interspersed?: boolean;
  /** What `berth completion` offers for the arguments. */
  complete?: 'containers' | 'running' | 'images' | 'none';
  /** The exit code (0 when nothing is returned). */
  run(cli: Cli, flags: Flags<F>, args: string[]): Promise<number | void>;
}

/** Declares a command with its flags' types inferred: `export const command = defineCommand({...})`. */
export function defineCommand<F extends FlagSpecs>(c: Command<F>): Command<F> {
  return c;
}

/** An entry of bin.ts's table: the names a command answers to, its summary, and its module. */
export interface CommandEntry {
  /** The first is shown in help; `container ls` style names make management groups. */
  names: readonly string[];
  summary: string;
  /** Where `berth --help` lists it. */
  section: 'common' | 'management' | 'commands' | 'low-level';
  load(): { command: Command };
}

/** A failure of the CLI's own (not berthd's): one line, and the exit code Docker gives it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
