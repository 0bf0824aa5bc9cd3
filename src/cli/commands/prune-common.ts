/** What the prune commands share: Docker's confirmation prompt and its report. */
import type { FlagSpecs } from '../args';
import type { Cli } from '../cli';
import { humanSize } from '../output/units';

/** Docker's `[y/N]` prompt on stdin; `force` skips it. Resolves false unless the answer is y/yes. */
export async function confirm(cli: Cli, warning: string, force: boolean): Promise<boolean> {
  if (force) return true;
  await cli.out(`${warning}\nAre you sure you want to continue? [y/N] `);
  const line = await readLine();
  return /^\s*y(es)?\s*$/i.test(line);
}

function readLine(): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const stdin = process.stdin;
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', done);
      stdin.pause();
      resolve(got);
    };
    const onData = (b: Buffer) => {
      got += b.toString();
      const nl = got.indexOf('\n');
      if (nl >= 0) {
        got = got.slice(0, nl);
        done();
      }
    };
    stdin.on('data', onData);
    stdin.on('end', done);
    stdin.resume();
  });
}

/** `Deleted Containers:` and its lines, or nothing when none was deleted. */
export function deletedSection(title: string, lines: readonly string[]): string {
  return lines.length ? `${title}:\n${lines.map((l) => `${l}\n`).join('')}\n` : '';
}

export const reclaimed = (bytes: number | string) => `Total reclaimed space: ${humanSize(Number(bytes))}\n`;

/** The flags every prune takes. */
export const PRUNE_FLAGS = {
  filter: { type: 'strings', desc: "Provide filter values (e.g. 'until=<timestamp>', 'label=<key>=<value>')", placeholder: 'filter' },
  force: { type: 'bool', short: 'f', desc: 'Do not prompt for confirmation' },
} as const satisfies FlagSpecs;
