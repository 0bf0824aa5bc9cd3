/**
 * `berth inspect`: containers and images by name or id, as Docker's JSON (an array) or a
 * template per object. A name is looked up as a container first, then as an image, unless
 * `--type` says which.
 */
import { isNotFound } from '../../client';
import type { Cli } from '../cli';
import { CliError, defineCommand } from '../command';
import { formatObjects } from '../output/format';
import { containerView, imageView } from './inspect-views';

export type InspectType = 'container' | 'image' | undefined;

async function one(cli: Cli, ref: string, type: InspectType): Promise<unknown> {
  const engine = cli.client.engine;
  if (type !== 'image') {
    try {
      return containerView(await engine.inspect({ container: ref }));
    } catch (e) {
      if (type === 'container' || !isNotFound(e)) throw e;
    }
  }
  try {
    return imageView(await engine.inspectImage({ image: ref }));
  } catch (e) {
    if (type === undefined && isNotFound(e)) throw new CliError(`No such object: ${ref}`, 1);
    throw e;
  }
}

/** Prints what was found (even when some were not), then one line per failure; exit 1 if any failed. */
export async function inspectAll(cli: Cli, refs: readonly string[], type: InspectType, format: string | undefined): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const r of refs) {
    try {
      found.push(await one(cli, r, type));
    } catch (e) {
      errors.push(e instanceof CliError ? `Error: ${e.message}` : `Error: ${(e as Error).message}`);
    }
  }
  if (found.length || !format) await cli.out(formatObjects(found, format));
  if (errors.length) await cli.err(errors.map((l) => `${l}\n`).join(''));
  return errors.length ? 1 : 0;
}

export const FORMAT_FLAG = {
  type: 'string',
  short: 'f',
  desc: "Format output using a custom template: 'json' or a Go-like template",
  placeholder: 'string',
} as const;

export const command = defineCommand({
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  summary: 'Return low-level information on containers and images',
  minArgs: 1,
  complete: 'containers',
  flags: {
    format: FORMAT_FLAG,
    size: { type: 'bool', short: 's', desc: 'Display total file sizes if the type is container (not shown yet)', hidden: true },
    type: { type: 'string', desc: 'Return JSON for specified type (container or image)', placeholder: 'string' },
  },
  run(cli, f, args) {
    if (f.type !== undefined && f.type !== 'container' && f.type !== 'image')
      throw new CliError(`"${f.type}" is not a valid value for --type (container or image)`, 125);
    return inspectAll(cli, args, f.type, f.format);
  },
});
