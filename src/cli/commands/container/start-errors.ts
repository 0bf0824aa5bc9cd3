/**
 * Docker's exit codes for a container that could not be started: 127 when the command is not
 * there, 126 when it cannot be run, 125 for any other failure of berth's own (the container's
 * own exit code is reserved for what the container did).
 */
import { CliError } from '../../command';
import { messageOf } from '../common';

export function startFailure(e: unknown): CliError {
  const msg = messageOf(e).replace(/^Error(?: response from daemon)?: /, '');
  const code = /not found|no such file or directory|ENOENT/i.test(msg) ? 127 : /permission denied|EACCES|not executable/i.test(msg) ? 126 : 125;
  return new CliError(msg, code);
}
