/** `berth export`: the container's filesystem as a tar, to `-o FILE` (written atomically) or stdout. */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Cli } from '../../cli';
import { CliError, defineCommand } from '../../command';

/** Writes `data` to `file` through a temporary name beside it, or to stdout (never a terminal). */
export async function writeOutput(cli: Cli, data: AsyncIterable<Buffer>, file: string | undefined, what: string): Promise<void> {
  if (file === undefined || file === '-') {
    if (cli.stdoutIsTTY) throw new CliError(`cowardly refusing to save to a terminal. Use the -o flag or redirect`, 1);
    await pipeline(Readable.from(data), process.stdout, { end: false });
    return;
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await pipeline(Readable.from(data), createWriteStream(tmp, { mode: 0o644 }));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e instanceof CliError ? e : new CliError(`failed to ${what}: ${(e as Error).message}`, 1);
  }
}

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER',
  summary: "Export a container's filesystem as a tar archive",
  minArgs: 1,
  maxArgs: 1,
  complete: 'containers',
  flags: {
    output: { type: 'string', short: 'o', desc: 'Write to a file, instead of STDOUT', placeholder: 'string' },
  },
  async run(cli, f, [container]) {
    if ((f.output === undefined || f.output === '-') && cli.stdoutIsTTY)
      throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
    await writeOutput(cli, cli.client.engine.exportArchive({ container }), f.output, 'export container');
  },
});
