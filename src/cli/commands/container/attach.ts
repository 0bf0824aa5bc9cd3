/** `berth attach`: this terminal to a running container's stdio; exits with its code (0 after a detach). */
import { defineCommand } from '../../command';
import { CliError } from '../../command';
import { pumpSession } from '../../stdio';
import { exitCodeAfter } from './run';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER',
  summary: 'Attach local standard input, output, and error streams to a running container',
  minArgs: 1,
  maxArgs: 1,
  complete: 'running',
  flags: {
    detachKeys: { type: 'string', desc: 'Override the key sequence for detaching a container', placeholder: 'string', defaultText: 'ctrl-p,ctrl-q' },
    noStdin: { type: 'bool', desc: 'Do not attach STDIN' },
    sigProxy: { type: 'bool', defaultTrue: true, desc: 'Proxy all received signals to the process' },
  },
  async run(cli, f, [container]) {
    const engine = cli.client.engine;
    const info = await engine.inspect({ container });
    const id = info.id;
    const stdin = !f.noStdin && (info.config?.open_stdin ?? false);
    if (info.config?.tty && stdin && !cli.stdinIsTTY) throw new CliError('the input device is not a TTY', 1);
    const session = await engine.attachSession({ container: id, stdin, stdout: true, stderr: true, detach_keys: f.detachKeys });
    const r = await pumpSession(cli, session, {
      stdin: stdin && session.ready.stdin,
      tty: session.ready.tty,
      resize: (width, height) => engine.resize({ container: id, width, height }),
      signal: f.sigProxy ? (signal) => engine.kill({ container: id, signal }) : undefined,
    });
    if (r.detached) return 0;
    return exitCodeAfter(cli, id, r, info.host_config?.auto_remove ?? false);
  },
});
