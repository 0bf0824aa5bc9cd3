/** `berth info`: berthd's counts (containers by state, images), version, snapshotters and this host, as Docker's `info`. */
import { cpus, hostname, release, totalmem } from 'node:os';
import { defineCommand } from '../../command';
import { formatObjects } from '../../output/format';
import { bytesSize } from '../../output/units';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Display system-wide information',
  maxArgs: 0,
  flags: {
    format: { type: 'string', short: 'f', desc: "Format output using a custom template: 'json' or a Go-like template", placeholder: 'string' },
  },
  async run(cli, f) {
    const c = cli.client;
    const [version, list, images, plugins] = await Promise.all([
      c.version.version({}),
      c.engine.list({ all: true }),
      c.engine.listImages({}),
      c.introspection.plugins({}),
    ]);
    const count = (s: string) => list.containers.filter((x) => x.status === s).length;
    const snapshotters = plugins.plugins.filter((p) => p.type === 'io.containerd.snapshotter.v1' && !p.init_err).map((p) => p.id);
    const info = {
      Containers: list.containers.length,
      ContainersRunning: count('running'),
      ContainersPaused: count('paused'),
      ContainersStopped: list.containers.length - count('running') - count('paused'),
      Images: images.images.length,
      ServerVersion: version.version,
      Snapshotters: snapshotters,
      LoggingDriver: 'json-file',
      Namespace: c.namespace,
      Address: c.address,
      KernelVersion: release(),
      OperatingSystem: process.platform,
      Architecture: process.arch,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      Name: hostname(),
    };
    if (f.format) return void (await cli.out(formatObjects([info], f.format === 'json' ? '{{json .}}' : f.format)));
    const lines = [
      'Server:',
      ` Containers: ${info.Containers}`,
      `  Running: ${info.ContainersRunning}`,
      `  Paused: ${info.ContainersPaused}`,
      `  Stopped: ${info.ContainersStopped}`,
      ` Images: ${info.Images}`,
      ` Server Version: ${info.ServerVersion}`,
      ` Snapshotters: ${info.Snapshotters.join(' ')}`,
      ` Logging Driver: ${info.LoggingDriver}`,
      ` Namespace: ${info.Namespace}`,
      ` Address: ${info.Address}`,
      ` Kernel Version: ${info.KernelVersion}`,
      ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`,
      ` Total Memory: ${bytesSize(info.MemTotal)}`,
      ` Name: ${info.Name}`,
    ];
    await cli.out(`${lines.join('\n')}\n`);
  },
});
