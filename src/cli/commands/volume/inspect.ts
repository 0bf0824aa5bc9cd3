/** `berth volume inspect`: Docker's JSON for each volume (or a template per volume). */
import { fromTimestamp } from '../../../client';
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatObjects } from '../../output/format';
import { messageOf } from '../common';

/** Docker's Volume object; empty maps are null, as Docker prints them. */
export function volumeJson(v: engine.Volume) {
  const orNull = (m: Record<string, string>) => (Object.keys(m).length ? m : null);
  return {
    CreatedAt:
      fromTimestamp(v.created_at)
        ?.toISOString()
        .replace(/\.\d+Z$/, 'Z') ?? '',
    Driver: v.driver,
    Labels: orNull(v.labels),
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: orNull(v.options),
    Scope: v.scope,
  };
}

export const command = defineCommand({
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  summary: 'Display detailed information on one or more volumes',
  minArgs: 1,
  flags: {
    format: { type: 'string', short: 'f', desc: "Format output using a custom template: 'json' or a Go-like template", placeholder: 'string' },
  },
  async run(cli, f, args) {
    const found: unknown[] = [];
    let failed = false;
    for (const name of args) {
      try {
        found.push(volumeJson(await cli.client.engine.inspectVolume({ name })));
      } catch (e) {
        failed = true;
        await cli.err(`${messageOf(e)}\n`);
      }
    }
    if (found.length || !failed) await cli.out(formatObjects(found, f.format));
    return failed ? 1 : 0;
  },
});
