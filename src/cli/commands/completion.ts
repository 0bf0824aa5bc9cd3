/**
 * `berth completion bash|zsh`: a completion script. Command names and each command's flags are
 * written into the script (no berth process per Tab for those); container and image names come
 * from berthd when a command takes them (`berth ps -a --format '{{.Names}}'`).
 */
import { flagName } from '../args';
import { CliError, defineCommand, type CommandEntry } from '../command';

function words(table: readonly CommandEntry[]) {
  const top = new Set<string>();
  const subs = new Map<string, Set<string>>();
  const cases: string[] = [];
  for (const e of table) {
    const { command } = e.load();
    const flags = Object.entries(command.flags)
      .filter(([, s]) => !s.hidden)
      .flatMap(([k, s]) => [`--${flagName(k)}`, ...(s.short ? [`-${s.short}`] : [])]);
    flags.push('--help');
    const args =
      command.complete === 'running' ? 'running' : command.complete === 'containers' ? 'containers' : command.complete === 'images' ? 'images' : 'none';
    for (const n of e.names) {
      const [a, b] = n.split(' ');
      top.add(a!);
      if (b) (subs.get(a!) ?? subs.set(a!, new Set()).get(a!)!).add(b);
      cases.push(`    "${n}") flags="${flags.join(' ')}"; args=${args} ;;`);
    }
  }
  return { top: [...top].sort(), subs, cases };
}

export function bashScript(table: readonly CommandEntry[]): string {
  const { top, subs, cases } = words(table);
  const subCases = [...subs].map(([g, s]) => `    ${g}) groupsubs="${[...s].sort().join(' ')}" ;;`);
  return `# bash completion for berth (berth completion bash > /etc/bash_completion.d/berth)
_berth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} i w cmd="" groupsubs="" flags="" args=none
  local words=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case "$w" in -*) continue ;; esac
    words+=("$w")
  done
  if [ \${#words[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -W "${top.join(' ')} --address --namespace -n --help --version" -- "$cur")); return
  fi
  case "\${words[0]}" in
${subCases.join('\n')}
  esac
  if [ -n "$groupsubs" ] && [ \${#words[@]} -eq 1 ]; then
    COMPREPLY=($(compgen -W "$groupsubs" -- "$cur")); return
  fi
  cmd=\${words[0]}
  [ -n "$groupsubs" ] && cmd="\${words[0]} \${words[1]}"
  case "$cmd" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  case $args in
    running) COMPREPLY=($(compgen -W "$(berth ps --format '{{.Names}}' 2>/dev/null)" -- "$cur")) ;;
    containers) COMPREPLY=($(compgen -W "$(berth ps -a --format '{{.Names}}' 2>/dev/null)" -- "$cur")) ;;
    images) COMPREPLY=($(compgen -W "$(berth inspect --type image --format '{{join .RepoTags " "}}' $(berth ps -a --format '{{.Image}}' 2>/dev/null) 2>/dev/null)" -- "$cur")) ;;
  esac
}
complete -F _berth berth
`;
}

export const command = defineCommand({
  usage: 'bash|zsh',
  summary: 'Print a shell completion script (bash or zsh)',
  description:
    'bash: source <(berth completion bash), or save it as /etc/bash_completion.d/berth.\nzsh: autoload -U bashcompinit && bashcompinit && source <(berth completion zsh).',
  minArgs: 1,
  maxArgs: 1,
  complete: 'none',
  flags: {},
  async run(cli, _f, [shell]) {
    if (shell !== 'bash' && shell !== 'zsh') throw new CliError(`unsupported shell ${JSON.stringify(shell)} (bash or zsh)`, 1);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the table, loaded only here
    const { COMMANDS } = require('../bin') as typeof import('../bin');
    await cli.out(bashScript(COMMANDS));
  },
});
