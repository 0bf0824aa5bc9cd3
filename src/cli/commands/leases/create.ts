/** `berth leases create [KEY=VALUE...]`: a lease (`--id`, else berthd picks one; `--expires 24h` sets containerd.io/gc.expire); prints its id. */
import { CliError, defineCommand } from '../../command';
import { keyValueArgs } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] [KEY=VALUE...]',
  summary: 'Create a lease',
  flags: {
    expires: { type: 'string', short: 'x', desc: 'Expiry as a duration (e.g. 24h, 30m); none by default', placeholder: 'duration' },
    id: { type: 'string', desc: 'The lease id (generated when not given)', placeholder: 'string' },
  },
  async run(cli, f, args) {
    const labels = keyValueArgs(args);
    if (f.expires !== undefined) {
      const m = /^(\d+)(s|m|h)$/.exec(f.expires);
      if (!m) throw new CliError(`invalid --expires ${JSON.stringify(f.expires)} (a duration such as 30m or 24h)`, 125);
      const ms = Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6 }[m[2] as 's' | 'm' | 'h'];
      labels['containerd.io/gc.expire'] = new Date(Date.now() + ms).toISOString();
    }
    const id = f.id ?? `berth-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const { lease } = await cli.client.leases.create({ id, labels });
    await cli.out(`${lease?.id ?? id}\n`);
  },
});
