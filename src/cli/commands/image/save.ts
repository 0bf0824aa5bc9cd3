/**
 * `berth save`: images as one tar (to -o FILE, else stdout, never a terminal), through berthd's
 * Transfer service. The tar is an OCI image layout that also holds Docker's manifest.json (as
 * `docker save` writes since Docker 25), so `skopeo … oci-archive:`, `docker load`, `ctr import`
 * and `berth load` all read it; `--format docker` writes the classic docker-save tar only.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { DOCKER_ARCHIVE, OCI_ARCHIVE } from '../../../client';
import { CliError, defineCommand } from '../../command';
import { fullName } from './names';

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  minArgs: 1,
  complete: 'images',
  flags: {
    output: { type: 'string', short: 'o', desc: 'Write to a file, instead of STDOUT', placeholder: 'string' },
    platform: { type: 'string', desc: "Save only this platform (default: this machine's)", placeholder: 'string' },
    format: {
      type: 'string',
      desc: "Archive format: 'oci' (an OCI layout with Docker's manifest.json too) or 'docker'",
      placeholder: 'string',
      defaultText: 'oci',
    },
  },
  async run(cli, f, args) {
    const fmt = f.format ?? 'oci';
    if (fmt !== 'oci' && fmt !== 'docker') throw new CliError(`invalid --format ${JSON.stringify(fmt)}: must be "oci" or "docker"`, 125);
    if (!f.output && cli.stdoutIsTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
    const names = args.map(fullName);
    // A file appears whole or not at all: written beside, renamed when the archive is complete.
    const tmp = f.output ? `${f.output}.berth-save-${process.pid}` : undefined;
    const out = tmp ? createWriteStream(tmp, { mode: 0o644 }) : process.stdout;
    try {
      await cli.client.transfer.exportArchive(names, out, { mediaType: fmt === 'docker' ? DOCKER_ARCHIVE : OCI_ARCHIVE, platform: f.platform });
      if (tmp) {
        await new Promise<void>((resolve, reject) => (out.writableFinished ? resolve() : out.once('finish', resolve).once('error', reject)));
        await rename(tmp, f.output!);
      }
    } catch (e) {
      if (tmp) {
        out.destroy();
        await rm(tmp, { force: true });
      }
      throw e;
    }
  },
});
