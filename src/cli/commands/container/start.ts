/** `berth start`: starts containers; `-a` attaches first (so nothing is missed) and exits with the container's code. */
import { CliError, defineCommand } from '../../command';
import { pumpSession } from '../../stdio';
import { forEachArg } from '../common';
import { exitCodeAfter } from './run';
import { startFailure } from './start-errors';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start one or more stopped containers',
  minArgs: 1,
  complete: 'containers',
  flags: {
    attach: { type: 'bool', short: 'a', desc: 'Attach STDOUT/STDERR and forward signals' },
    detachKeys: { type: 'string', desc: 'Override the key sequence for detaching a container', placeholder: 'string' },
    interactive: { type: 'bool', short: 'i', desc: "Attach container's STDIN" },
  },
  async run(cli, f, args) {
    const engine = cli.client.engine;
    if (!f.attach && !f.interactive) return forEachArg(cli, args, (c) => engine.start({ container: c }).then(() => undefined));
    if (args.length > 1) throw new CliError('you cannot start and attach multiple containers at once', 1);
    const container = args[0]!;
    const info = await engine.inspect({ container });
    const id = info.id;
    const tty = info.config?.tty ?? false;
    if (tty && f.interactive && !cli.stdinIsTTY) throw new CliError('the input device is not a TTY', 1);
    const session = await engine.attachSession({ container: id, stdin: f.interactive, stdout: true, stderr: true, detach_keys: f.detachKeys });
    const pumped = pumpSession(cli, session, {
      stdin: f.interactive && session.ready.stdin,
      tty,
      resize: (width, height) => engine.resize({ container: id, width, height }),
      signal: (signal) => engine.kill({ container: id, signal }),
    });
    if (info.state?.status !== 'running') {
      try {
        await engine.start({ container: id });
      } catch (e) {
        session.close();
        await pumped;
        throw startFailure(e);
      }
    }
    const r = await pumped;
    if (r.detached) return 0;
    return exitCodeAfter(cli, id, r, info.host_config?.auto_remove ?? false);
  },
});
