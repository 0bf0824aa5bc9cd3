/** `berth rm`: removes containers; `-f` stops a running one first (SIGKILL). */
import { CliError, defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  minArgs: 1,
  complete: 'containers',
  flags: {
    force: { type: 'bool', short: 'f', desc: 'Force the removal of a running container (uses SIGKILL)' },
    volumes: { type: 'bool', short: 'v', desc: 'Remove anonymous volumes associated with the container (not available yet)' },
  },
  run(cli, f, args) {
    // Engine/Remove has no volumes field yet (the volume commands bring it); refused rather than ignored.
    if (f.volumes) throw new CliError('rm -v: removing anonymous volumes with the container is not available yet (run --rm removes them)', 125);
    return forEachArg(cli, args, (c) => cli.client.engine.remove({ container: c, force: f.force }).then(() => undefined));
  },
});
