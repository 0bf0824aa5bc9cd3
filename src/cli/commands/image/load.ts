/**
 * `berth load`: images from a tar (-i FILE, else stdin): an OCI layout archive (`skopeo copy …
 * oci-archive:`, `berth save`, `docker save` since 25) or a classic docker-save tar, gzip or not,
 * through berthd's Transfer service; unpacked for this machine's platform.
 */
import { createReadStream } from 'node:fs';
import { CliError, defineCommand } from '../../command';
import { shortName } from './names';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Load an image from a tar archive or STDIN',
  maxArgs: 0,
  flags: {
    input: { type: 'string', short: 'i', desc: 'Read from tar archive file, instead of STDIN', placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Suppress the load output' },
    platform: { type: 'string', desc: "Load only this platform (default: this machine's)", placeholder: 'string' },
  },
  async run(cli, f) {
    if (!f.input && cli.stdinIsTTY) throw new CliError('requested load from stdin, but stdin is empty', 1);
    const input = f.input ? createReadStream(f.input) : process.stdin;
    const opened = new Promise<void>((resolve, reject) => (f.input ? input.once('open', () => resolve()).once('error', reject) : resolve()));
    await opened.catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`open ${f.input}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`, 1);
    });
    const saved = await cli.client.transfer.importArchive(input, { platform: f.platform });
    const byName = saved.filter((s) => !s.name.includes('@'));
    const lines = byName.length ? byName.map((s) => `Loaded image: ${shortName(s.name)}`) : saved.map((s) => `Loaded image ID: ${s.digest}`);
    if (!f.quiet || !lines.length) await cli.out(lines.map((l) => `${l}\n`).join(''));
  },
});
