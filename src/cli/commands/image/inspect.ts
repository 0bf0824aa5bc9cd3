/** `berth image inspect`: Docker's image JSON (Id, RepoTags, RepoDigests, Created, Config, RootFS, …) from berthd's engine. */
import { fromTimestamp } from '../../../client';
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatObjects } from '../../output/format';
import { messageOf } from '../common';

interface ConfigJson {
  architecture?: string;
  variant?: string;
  os?: string;
  author?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: unknown[];
}

/** The fields `docker image inspect` shows that berth knows; Docker's names, so templates written for Docker work. */
export function imageInspectJson(d: engine.ImageDetail) {
  const s = d.summary!;
  let c: ConfigJson = {};
  try {
    c = JSON.parse(Buffer.from(d.config_json).toString('utf8')) as ConfigJson;
  } catch {
    /* an unreadable config shows as empty fields */
  }
  return {
    Id: s.id,
    RepoTags: s.repo_tags,
    RepoDigests: s.repo_digests,
    Parent: '',
    Comment: '',
    Created: c.created ?? (s.created ? fromTimestamp(s.created)?.toISOString() : ''),
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture ?? '',
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os ?? '',
    Size: Number(s.size),
    RootFS: { Type: c.rootfs?.type ?? 'layers', Layers: c.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: d.media_type, digest: d.manifest_digest },
    Labels: s.labels,
  };
}

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Display detailed information on one or more images',
  minArgs: 1,
  complete: 'images',
  flags: {
    format: { type: 'string', short: 'f', desc: "Format output using a custom template: 'json' or a Go-like template", placeholder: 'string' },
  },
  async run(cli, f, args) {
    const found: unknown[] = [];
    let failed = false;
    for (const image of args) {
      try {
        found.push(imageInspectJson(await cli.client.engine.inspectImage({ image })));
      } catch (e) {
        failed = true;
        await cli.err(`${messageOf(e)}\n`);
      }
    }
    if (found.length || !failed) await cli.out(formatObjects(found, f.format));
    return failed ? 1 : 0;
  },
});
