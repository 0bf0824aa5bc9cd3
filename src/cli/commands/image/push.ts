/** `berth push`: a local image to its registry, through berthd's Transfer service. */
import type { Progress } from '../../../client';
import { defineCommand } from '../../command';
import { configCredentials } from './credentials';
import { fullName, shortName } from './names';
import { ProgressView } from './progress-view';

export const command = defineCommand({
  usage: '[OPTIONS] NAME[:TAG]',
  summary: 'Upload an image to a registry',
  minArgs: 1,
  maxArgs: 1,
  complete: 'images',
  flags: {
    platform: { type: 'string', desc: 'Push only this platform of a multi-platform image', placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Suppress verbose output' },
  },
  async run(cli, f, [ref]) {
    const name = fullName(ref!);
    if (!f.quiet) await cli.out(`The push refers to repository [${shortName(name).replace(/[:@][^/]*$/, '')}]\n`);
    const view = f.quiet ? undefined : new ProgressView((s) => cli.out(s), cli.stdoutIsTTY);
    let root: Progress | undefined;
    await cli.client.transfer.push(name, name, {
      platform: f.platform,
      credentials: configCredentials(),
      onProgress: (p) => {
        // The manifest (or index) is the blob whose parent is the image's name.
        if (p.desc && p.parents.includes(name)) root = p;
        view?.onProgress(p);
      },
    });
    await view?.flush();
    const img = root?.desc ? root.desc : (await cli.client.images.get({ name })).image?.target;
    const tag = name.replace(/^.*:/, '');
    await cli.out(f.quiet ? `${shortName(name)}\n` : `${tag}: digest: ${img?.digest ?? ''} size: ${img?.size ?? ''}\n`);
  },
});
