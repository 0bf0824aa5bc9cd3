/** `berth tag SOURCE TARGET`: another name for a local image (the Transfer service's ImageStore→ImageStore). */
import { isNotFound } from '../../../client';
import { defineCommand } from '../../command';
import { fullName } from './names';

export const command = defineCommand({
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  minArgs: 2,
  maxArgs: 2,
  complete: 'images',
  flags: {},
  async run(cli, _f, [source, target]) {
    const to = fullName(target!);
    let from: string;
    try {
      from = fullName(source!);
    } catch {
      from = ''; // an image id: resolved below
    }
    try {
      if (!from) throw Object.assign(new Error('by id'), { byId: true });
      await cli.client.transfer.tag(from, to);
    } catch (e) {
      if (!(isNotFound(e) || (e as { byId?: boolean }).byId)) throw e;
      // SOURCE may be an image id (or its prefix): the engine resolves it as Docker does.
      const d = await cli.client.engine.inspectImage({ image: source! });
      const name = d.summary?.repo_tags[0] ?? d.summary?.repo_digests[0];
      if (!name) throw e;
      await cli.client.transfer.tag(fullName(name), to);
    }
  },
});
