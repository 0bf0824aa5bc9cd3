/**
 * Engine/Create for `run` and `create`, pulling the image first when it is missing (Docker's
 * `--pull missing`): "Unable to find image … locally", then the pull, then the create again.
 * The pull's modules (progress view, Docker credentials and the zod schema that reads them) load
 * only when a pull happens: `run` of a present image does not pay for them at start-up.
 */
import { isNotFound } from '../../../client';
import type { Cli } from '../../cli';
import { CliError } from '../../command';
import { type CreateFlags, createRequest, type CreateIntent } from './create-options';

/** `busybox` as Docker prints it in "Unable to find image 'busybox:latest' locally". */
function withTag(ref: string): string {
  return /[:@][^/]*$/.test(ref) ? ref : `${ref}:latest`;
}

function pull(cli: Cli, image: string): Promise<unknown> {
  const { pullImage } = require('../image/pull-image') as typeof import('../image/pull-image'); // eslint-disable-line @typescript-eslint/no-require-imports
  return pullImage(cli, image, { toStderr: true });
}

export async function createContainer(
  cli: Cli,
  f: CreateFlags,
  image: string,
  cmd: string[],
  mode: { run: boolean; detached: boolean },
): Promise<CreateIntent & { id: string; name: string }> {
  const policy = f.pull ?? 'missing';
  if (policy !== 'missing' && policy !== 'never' && policy !== 'always')
    throw new CliError(`invalid pull option: '${policy}': must be one of "always", "missing" or "never"`, 125);
  const intent = createRequest(f, image, cmd, mode);
  if (policy === 'always') await pull(cli, image);
  try {
    const r = await cli.client.engine.create(intent.request);
    return { ...intent, id: r.id, name: r.name };
  } catch (e) {
    if (!(isNotFound(e) && /^No such image/.test((e as Error).message)) || policy === 'never') throw e;
    await cli.err(`Unable to find image '${withTag(image)}' locally\n`);
    await pull(cli, image);
    const r = await cli.client.engine.create(intent.request);
    return { ...intent, id: r.id, name: r.name };
  }
}
