/**
 * Engine/Create for `run` and `create`, pulling the image first when it is missing (Docker's
 * `--pull missing`): "Unable to find image … locally", then the pull, then the create again.
 */
import { isNotFound } from '../../../client';
import type { Cli } from '../../cli';
import { CliError } from '../../command';
import { pullImage } from '../image/pull-image';
import { type CreateFlags, createRequest, type CreateIntent } from './create-options';

/** `busybox` as Docker prints it in "Unable to find image 'busybox:latest' locally". */
function withTag(ref: string): string {
  return /[:@][^/]*$/.test(ref) ? ref : `${ref}:latest`;
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
  if (policy === 'always') await pullImage(cli, image, { toStderr: true });
  try {
    const r = await cli.client.engine.create(intent.request);
    return { ...intent, id: r.id, name: r.name };
  } catch (e) {
    if (!(isNotFound(e) && /^No such image/.test((e as Error).message)) || policy === 'never') throw e;
    await cli.err(`Unable to find image '${withTag(image)}' locally\n`);
    await pullImage(cli, image, { toStderr: true });
    const r = await cli.client.engine.create(intent.request);
    return { ...intent, id: r.id, name: r.name };
  }
}
