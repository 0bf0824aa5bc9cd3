/** `berth import`: a filesystem tarball (a file or `-` for stdin, plain or gzip) becomes a single-layer image. */
import { createReadStream } from 'node:fs';
import { CliError, defineCommand } from '../../command';

export const command = defineCommand({
  usage: '[OPTIONS] file|-  [REPOSITORY[:TAG]]',
  summary: 'Import the contents from a tarball to create a filesystem image',
  minArgs: 1,
  maxArgs: 2,
  flags: {
    change: { type: 'strings', short: 'c', desc: 'Apply Dockerfile instruction to the created image', placeholder: 'list' },
    message: { type: 'string', short: 'm', desc: 'Set commit message for imported image', placeholder: 'string' },
    platform: { type: 'string', desc: 'Set platform if server is multi-platform capable', placeholder: 'string' },
  },
  async run(cli, f, [source, reference]) {
    if (/^https?:\/\//.test(source!)) throw new CliError('importing from a URL is not supported: download the tarball and import the file', 1);
    let tar: AsyncIterable<Buffer>;
    if (source === '-') tar = process.stdin;
    else {
      const s = createReadStream(source!);
      await new Promise<void>((resolve, reject) => {
        s.once('open', () => resolve());
        s.once('error', (e: NodeJS.ErrnoException) =>
          reject(new CliError(`open ${source}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`, 1)),
        );
      });
      tar = s;
    }
    const r = await cli.client.engine.importArchive(
      { reference: reference ?? '', changes: f.change, message: f.message ?? '', platform: f.platform ?? '' },
      tar,
    );
    await cli.out(`${r.image_id}\n`);
  },
});
