/** `berth stop`: the stop signal, `-t` seconds, then SIGKILL (berthd does the waiting). */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop one or more running containers',
  minArgs: 1,
  complete: 'running',
  flags: {
    signal: { type: 'string', short: 's', desc: 'Signal to send to the container', placeholder: 'string' },
    time: { type: 'int', short: 't', desc: 'Seconds to wait before killing the container', placeholder: 'int' },
  },
  run: (cli, f, args) => forEachArg(cli, args, (c) => cli.client.engine.stop({ container: c, timeout: f.time, signal: f.signal ?? '' }).then(() => undefined)),
});
