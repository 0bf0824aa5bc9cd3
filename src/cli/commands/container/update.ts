/** `berth update`: a container's memory, CPUs, pids limit and restart policy; a running one's at once. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Update configuration of one or more containers',
  minArgs: 1,
  complete: 'containers',
  flags: {
    cpus: { type: 'string', desc: 'Number of CPUs', placeholder: 'decimal' },
    memory: { type: 'string', short: 'm', desc: 'Memory limit', placeholder: 'bytes' },
    pidsLimit: { type: 'int', desc: 'Tune container pids limit (set -1 for unlimited)', placeholder: 'int' },
    restart: { type: 'string', desc: 'Restart policy to apply when a container exits', placeholder: 'string' },
  },
  async run(cli, f, args) {
    const warnings: string[] = [];
    const code = await forEachArg(cli, args, async (container) => {
      const r = await cli.client.engine.update({
        container,
        memory: f.memory,
        cpus: f.cpus,
        pids_limit: f.pidsLimit === undefined ? undefined : String(f.pidsLimit),
        restart: f.restart,
      });
      warnings.push(...r.warnings);
    });
    if (warnings.length) await cli.err(warnings.map((w) => `${w}\n`).join(''));
    return code;
  },
});
