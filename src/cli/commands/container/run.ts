/**
 * `berth run`: create (pulling a missing image), attach before start so no output is missed,
 * start, stream until the container exits, and exit with its code. `-d` prints the id instead;
 * `--rm` waits until berthd has removed the container, so its name is free when run returns.
 * berth's own failures exit 125 (126/127 when the command cannot be run or is not there).
 */
import type { Cli } from '../../cli';
import { CliError, defineCommand } from '../../command';
import { pumpSession } from '../../stdio';
import { messageOf } from '../common';
import { CREATE_FLAGS } from './create-options';
import { createContainer } from './create-container';
import { startFailure } from './start-errors';

/**
 * The exit code once the session is over: from the session, else (berthd went away) from Wait.
 * With autoRemove, once the container is gone too: `removed` is that Wait when the caller asked
 * for it already, else it is asked now.
 */
export async function exitCodeAfter(
  cli: Cli,
  id: string,
  r: { exitCode?: number; lost: boolean },
  autoRemove: boolean,
  removed?: Promise<unknown>,
): Promise<number> {
  let code = r.exitCode;
  if (code === undefined) code = (await cli.client.engine.wait({ container: id })).exit_code;
  if (autoRemove) await (removed ?? cli.client.engine.wait({ container: id, condition: 'removed' })).catch(() => undefined);
  return code;
}

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image',
  minArgs: 1,
  interspersed: false,
  complete: 'images',
  flags: {
    ...CREATE_FLAGS,
    detach: { type: 'bool', short: 'd', desc: 'Run container in background and print container ID' },
    detachKeys: { type: 'string', desc: 'Override the key sequence for detaching a container', placeholder: 'string', defaultText: 'ctrl-p,ctrl-q' },
    sigProxy: { type: 'bool', defaultTrue: true, desc: 'Proxy received signals to the process' },
  },
  async run(cli, f, [image, ...cmd]) {
    if (f.tty && f.interactive && !f.detach && !cli.stdinIsTTY) throw new CliError('the input device is not a TTY', 1);
    let c;
    try {
      c = await createContainer(cli, f, image!, cmd, { run: true, detached: f.detach });
    } catch (e) {
      throw e instanceof CliError ? e : new CliError(messageOf(e).replace(/^Error(?: response from daemon)?: /, ''), 125);
    }
    const engine = cli.client.engine;
    if (f.detach) {
      try {
        await engine.start({ container: c.id });
      } catch (e) {
        throw startFailure(e);
      }
      await cli.out(`${c.id}\n`);
      return 0;
    }
    const session = await engine.attachSession({
      container: c.id,
      stdin: c.attach.has('stdin'),
      stdout: c.attach.has('stdout'),
      stderr: c.attach.has('stderr'),
      detach_keys: f.detachKeys,
    });
    const pumped = pumpSession(cli, session, {
      stdin: c.attach.has('stdin'),
      tty: f.tty,
      resize: (width, height) => engine.resize({ container: c.id, width, height }),
      signal: f.sigProxy ? (signal) => engine.kill({ container: c.id, signal }) : undefined,
    });
    // As Docker's CLI does, the wait for the removal is asked before the start: its answer comes as
    // soon as berthd is done, with no round trip after the exit.
    const removed = f.rm ? engine.wait({ container: c.id, condition: 'removed' }) : undefined;
    removed?.catch(() => undefined); // awaited below, or moot when the start fails
    try {
      await engine.start({ container: c.id });
    } catch (e) {
      session.close();
      await pumped;
      if (f.rm) await engine.remove({ container: c.id, force: true }).catch(() => undefined);
      throw startFailure(e);
    }
    const r = await pumped;
    if (r.detached) return 0;
    return exitCodeAfter(cli, c.id, r, f.rm, removed);
  },
});
