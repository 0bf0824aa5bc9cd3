/** `--help` texts, laid out as Docker's. */
import { flagName, type FlagSpecs } from './args';
import type { Command, CommandEntry } from './command';

export const GLOBAL_FLAGS = {
  address: { type: 'string', desc: "berthd's socket (default $BERTH_ADDRESS, else /run/berth/berthd.sock)", placeholder: 'string' },
  namespace: { type: 'string', short: 'n', desc: 'Namespace (default $BERTH_NAMESPACE, else "default")', placeholder: 'string' },
  version: { type: 'bool', short: 'v', desc: 'Print version information and quit' },
} as const satisfies FlagSpecs;

function flagLines(flags: FlagSpecs): string {
  const rows = Object.entries(flags)
    .filter(([, s]) => !s.hidden)
    .sort(([a], [b]) => flagName(a).localeCompare(flagName(b)))
    .map(([k, s]) => {
      const type = s.type === 'bool' ? '' : ` ${s.placeholder ?? (s.type === 'strings' ? 'list' : s.type)}`;
      const left = `${s.short ? `-${s.short}, ` : '    '}--${flagName(k)}${type}`;
      const def = s.defaultText ?? (s.defaultTrue ? 'true' : undefined);
      return [left, `${s.desc}${def ? ` (default ${def})` : ''}`] as const;
    });
  const w = Math.max(...rows.map(([l]) => l.length), 0) + 3;
  return rows.map(([l, d]) => `  ${l.padEnd(w)}${d}`).join('\n');
}

export function commandHelp(name: string, c: Command, aliases: readonly string[]): string {
  const parts = [`Usage:  berth ${name} ${c.usage}`.trimEnd(), c.summary];
  if (c.description) parts.push(c.description);
  if (aliases.length > 1) parts.push(`Aliases:\n  ${aliases.map((a) => `berth ${a}`).join(', ')}`);
  const flags = flagLines(c.flags);
  parts.push(`Options:\n${flags ? `${flags}\n` : ''}      --help   Print usage`);
  return `\n${parts.join('\n\n')}\n`;
}

const SECTIONS: Array<[CommandEntry['section'], string]> = [
  ['common', 'Common Commands'],
  ['management', 'Management Commands'],
  ['commands', 'Commands'],
  ['low-level', 'Low-level Commands (containerd API)'],
];

export function rootHelp(table: readonly CommandEntry[]): string {
  const out = ['', 'Usage:  berth [OPTIONS] COMMAND', '', "berth: Docker's commands on berthd, a container supervisor in the mould of containerd", ''];
  const w = Math.max(12, ...table.map((e) => e.names[0]!.length)) + 2;
  for (const [section, title] of SECTIONS) {
    const entries = table.filter((e) => e.section === section);
    if (!entries.length) continue;
    out.push(`${title}:`);
    for (const e of entries) out.push(`  ${e.names[0]!.padEnd(w)}${e.summary}`);
    out.push('');
  }
  out.push('Global Options:', flagLines(GLOBAL_FLAGS), '', "Run 'berth COMMAND --help' for more information on a command.", '');
  return out.join('\n');
}

/** `berth container` (a group without a verb): its commands. */
export function groupHelp(group: string, table: readonly CommandEntry[]): string {
  const subs = table.flatMap((e) =>
    e.names
      .filter((n) => n.startsWith(`${group} `))
      .slice(0, 1)
      .map((n) => [n.slice(group.length + 1), e.summary] as const),
  );
  const w = Math.max(10, ...subs.map(([n]) => n.length)) + 2;
  return `\nUsage:  berth ${group} COMMAND\n\nCommands:\n${subs.map(([n, s]) => `  ${n.padEnd(w)}${s}`).join('\n')}\n\nRun 'berth ${group} COMMAND --help' for more information on a command.\n`;
}
