/**
 * The CLI's start: global options, finding the command in bin.ts's table (one or two words:
 * `ps`, `container ls`), its flags, then run() and one exit code. Every failure is one line on
 * stderr: flag and usage errors exit 125 as Docker's do, berthd's errors 1 (`run` maps its own
 * to 125/126/127), a container's own code passes through.
 */
import { SupervisorError } from '../core/errors';
import { CallError } from '../client';
import { parseArgs, UsageError } from './args';
import { Cli } from './cli';
import { CliError, type CommandEntry } from './command';
import { commandHelp, GLOBAL_FLAGS, groupHelp, rootHelp } from './help';

const pkg = require('../../package.json') as { version: string };

export const CLIENT_VERSION = pkg.version;

function find(table: readonly CommandEntry[], words: readonly string[]): { entry: CommandEntry; name: string; rest: string[] } | undefined {
  for (const n of [2, 1]) {
    if (words.length < n) continue;
    const name = words.slice(0, n).join(' ');
    const entry = table.find((e) => e.names.includes(name));
    if (entry) return { entry, name, rest: words.slice(n) };
  }
  return undefined;
}

function errorLine(e: unknown, cmd: string): { line: string; code: number } {
  if (e instanceof UsageError)
    return { line: cmd ? `berth ${cmd}: ${e.message} (see 'berth ${cmd} --help')` : `berth: ${e.message} (see 'berth --help')`, code: 125 };
  if (e instanceof CliError) return { line: `Error: ${e.message}`, code: e.exitCode };
  if (e instanceof CallError) return { line: `Error response from daemon: ${e.message}`, code: 1 };
  if (e instanceof SupervisorError) return { line: `Error: ${e.message}`, code: 1 };
  return { line: `Error: ${(e as Error)?.message ?? String(e)}`, code: 1 };
}

/** Runs the CLI; resolves with the process's exit code. */
export async function main(table: readonly CommandEntry[], argv: readonly string[]): Promise<number> {
  let cmdName = '';
  const cli = new Cli({});
  try {
    const g = parseArgs(GLOBAL_FLAGS, argv, { interspersed: false });
    Object.assign(cli.globals, { address: g.flags.address, namespace: g.flags.namespace });
    if (g.flags.version) {
      await cli.out(`berth version ${CLIENT_VERSION}\n`);
      return 0;
    }
    if (g.help || !g.args.length) {
      await (g.help ? cli.out : cli.err).call(cli, rootHelp(table));
      return g.help ? 0 : 1;
    }
    const hit = find(table, g.args);
    if (!hit) {
      const group = g.args[0]!;
      if (table.some((e) => e.names.some((n) => n.startsWith(`${group} `)))) {
        await cli.out(groupHelp(group, table));
        return g.args.length === 1 ? 0 : 1;
      }
      throw new CliError(`'${group}' is not a berth command (see 'berth --help')`, 1);
    }
    cmdName = hit.name;
    const { command } = hit.entry.load();
    const p = parseArgs(command.flags, hit.rest, { interspersed: command.interspersed ?? true });
    if (p.help) {
      await cli.out(commandHelp(hit.name, command, hit.entry.names));
      return 0;
    }
    if (command.minArgs !== undefined && p.args.length < command.minArgs) {
      throw new CliError(
        `"berth ${hit.name}" requires at least ${command.minArgs} argument${command.minArgs === 1 ? '' : 's'} (usage: berth ${hit.name} ${command.usage})`,
        1,
      );
    }
    if (command.maxArgs !== undefined && p.args.length > command.maxArgs) {
      throw new CliError(
        `"berth ${hit.name}" accepts ${command.maxArgs === 0 ? 'no arguments' : `at most ${command.maxArgs} argument${command.maxArgs === 1 ? '' : 's'}`} (usage: berth ${hit.name} ${command.usage})`,
        1,
      );
    }
    return (await command.run(cli, p.flags, p.args)) ?? 0;
  } catch (e) {
    const { line, code } = errorLine(e, cmdName);
    await cli.err(`${line}\n`);
    return code;
  } finally {
    cli.close();
  }
}
