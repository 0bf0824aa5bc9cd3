/** `berth volume create`: a named (or, without a name, anonymous) volume of the local driver. */
import { CliError, defineCommand } from '../../command';

/** `-o k=v` and `--label k=v` lists as a map. */
export function keyValueMap(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    if (flag === 'opt' && i <= 0) throw new CliError(`invalid argument "${l}" for "-o, --opt" flag: invalid key value pair format in driver options`, 125);
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

export const command = defineCommand({
  usage: '[OPTIONS] [VOLUME]',
  summary: 'Create a volume',
  maxArgs: 1,
  flags: {
    driver: { type: 'string', short: 'd', desc: 'Specify volume driver name', placeholder: 'string', defaultText: '"local"' },
    label: { type: 'strings', desc: 'Set metadata for a volume', placeholder: 'list' },
    name: { type: 'string', desc: 'Specify volume name', placeholder: 'string', hidden: true },
    opt: { type: 'strings', short: 'o', desc: 'Set driver specific options (type, device, o)', placeholder: 'map' },
  },
  async run(cli, f, args) {
    if (f.name !== undefined && args[0] !== undefined && f.name !== args[0])
      throw new CliError(`conflicting options: either specify --name or provide positional arg, not both`, 1);
    const v = await cli.client.engine.createVolume({
      name: args[0] ?? f.name ?? '',
      driver: f.driver ?? '',
      labels: keyValueMap(f.label, 'label'),
      options: keyValueMap(f.opt, 'opt'),
    });
    await cli.out(`${v.name}\n`);
  },
});
