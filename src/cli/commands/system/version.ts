/** `berth version`: this client's version and berthd's (Version/Version), or the client's alone with an error line when berthd does not answer. */
import { CLIENT_VERSION } from '../../main';
import { defineCommand } from '../../command';
import { formatObjects } from '../../output/format';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Show the berth version information',
  maxArgs: 0,
  flags: {
    format: { type: 'string', short: 'f', desc: "Format output using a custom template: 'json' or a Go-like template", placeholder: 'string' },
  },
  async run(cli, f) {
    const client = { Version: CLIENT_VERSION, NodeVersion: process.version, Os: process.platform, Arch: process.arch };
    let server: { Version: string; Revision: string; Address: string } | undefined;
    let failure: unknown;
    try {
      const v = await cli.client.version.version({});
      server = { Version: v.version, Revision: v.revision, Address: cli.client.address };
    } catch (e) {
      failure = e;
    }
    const view = { Client: client, Server: server ?? null };
    if (f.format) await cli.out(formatObjects([view], f.format === 'json' ? '{{json .}}' : f.format));
    else {
      const lines = ['Client:', ` Version:       ${client.Version}`, ` Node version:  ${client.NodeVersion}`, ` OS/Arch:       ${client.Os}/${client.Arch}`];
      if (server)
        lines.push('', 'Server: berthd', ` Version:       ${server.Version}`, ` Revision:      ${server.Revision}`, ` Address:       ${server.Address}`);
      await cli.out(`${lines.join('\n')}\n`);
    }
    if (failure) throw failure;
  },
});
