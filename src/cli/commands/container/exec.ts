/** `berth exec`: a process in a running container; exits with its code (`-d`: starts it and returns). */
import { CliError, defineCommand } from '../../command';
import { pumpSession } from '../../stdio';
import { envList } from './create-options';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Execute a command in a running container',
  minArgs: 2,
  interspersed: false,
  complete: 'running',
  flags: {
    detach: { type: 'bool', short: 'd', desc: 'Detached mode: run command in the background' },
    detachKeys: { type: 'string', desc: 'Override the key sequence for detaching a container', placeholder: 'string' },
    env: { type: 'strings', short: 'e', desc: 'Set environment variables', placeholder: 'list' },
    envFile: { type: 'strings', desc: 'Read in a file of environment variables', placeholder: 'list' },
    interactive: { type: 'bool', short: 'i', desc: 'Keep STDIN open even if not attached' },
    privileged: { type: 'bool', desc: 'Give extended privileges to the command' },
    tty: { type: 'bool', short: 't', desc: 'Allocate a pseudo-TTY' },
    user: { type: 'string', short: 'u', desc: 'Username or UID (format: "<name|uid>[:<group|gid>]")', placeholder: 'string' },
    workdir: { type: 'string', short: 'w', desc: 'Working directory inside the container', placeholder: 'string' },
  },
  async run(cli, f, [container, ...cmd]) {
    if (f.tty && f.interactive && !f.detach && !cli.stdinIsTTY) throw new CliError('the input device is not a TTY', 1);
    const env = envList(f.envFile, f.env);
    const engine = cli.client.engine;
    const session = await engine.execSession({
      container: container!,
      cmd,
      env,
      user: f.user ?? '',
      working_dir: f.workdir ?? '',
      tty: f.tty,
      stdin: f.interactive && !f.detach,
      privileged: f.privileged,
      detach_keys: f.detachKeys,
      detach: f.detach,
    });
    if (f.detach) {
      session.close();
      return 0;
    }
    const execId = session.ready.execId;
    const r = await pumpSession(cli, session, {
      stdin: f.interactive,
      tty: f.tty,
      resize: (width, height) => engine.resize({ container: container!, exec_id: execId, width, height }),
    });
    if (r.detached) return 0;
    if (r.exitCode === undefined)
      throw new CliError(`exec ${execId.slice(0, 12)}: the session ended before the process did${r.error ? ` (${(r.error as Error).message})` : ''}`, 1);
    return r.exitCode;
  },
});
