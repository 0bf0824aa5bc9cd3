/**
 * `berth pull --all-tags NAME`, as `docker pull -a`: the repository's tags from its registry
 * (berthd's Engine/ListTags, with the credentials a pull uses), then each tag pulled in the
 * registry's order with its own progress and `Digest:` line, one `Status:` line for the whole
 * repository and its full name last.
 */
import type { Cli } from '../../cli';
import { CliError } from '../../command';
import { familiarName, parseReference, repositoryName, type Reference } from '../../../core/reference';
import { configCredentials } from './credentials';
import { pullWithProgress, type PullImageOptions } from './pull-image';

export async function pullAllTags(cli: Cli, ref: string, o: Pick<PullImageOptions, 'platform' | 'quiet'> = {}): Promise<void> {
  let r: Reference;
  try {
    r = parseReference(ref, { defaultTag: false });
  } catch (e) {
    throw new CliError((e as Error).message, 125);
  }
  if (r.tag || r.digest) throw new CliError("tag can't be used with --all-tags/-a", 125);
  const repo = repositoryName(r);
  const { tags } = await cli.client.transfer.listTags(repo, { credentials: configCredentials() });
  if (!tags.length) throw new CliError(`repository ${familiarName(r)} has no tags`);
  let fetched = false;
  for (const tag of tags) {
    const one = await pullWithProgress(cli, `${repo}:${tag}`, o);
    fetched ||= one.fetched;
  }
  if (!o.quiet) await cli.out(`Status: ${fetched ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(r)}\n`);
  await cli.out(`${repo}\n`);
}
