/**
 * Issue 12's hostile-peer attacks at full size against a fresh berthd (and containerd 1.6 beside
 * it), one at a time, each with a fresh daemon: per attack, what happened, the daemon's RSS growth,
 * the slowest Version probe on a new connection (every 100 ms, from another process), and whether
 * every frame the daemon sent respected the attacker's settings. Not part of `npm run bench`: run
 * it by hand (as root, after `npm run build`):
 *
 *   node dist-bench/bench/h2-abuse.js [--target berth,containerd] [--backend own|node] [--scale full|ci] [--only a,b] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ATTACKS, measure, type Measured } from '../test/helpers/h2-attacks';
import { launchBerthd, launchContainerd } from './lib/daemons';
import type { Launched } from './lib/workload';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'berth,containerd' },
    backend: { type: 'string' },
    scale: { type: 'string', default: 'full' },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});

const log = (m: string) => process.stderr.write(`h2-abuse: ${m}\n`);

/** The daemon now under attack, stopped on an interrupt too. */
let current: Launched | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const targets = values.target!.split(',');
  const only = values.only?.split(',');
  const attacks = ATTACKS.filter((a) => !only || only.includes(a.name));
  const rows: Array<Measured & { target: string }> = [];
  log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const a of attacks) {
    for (const target of targets) {
      const size = values.scale === 'ci' ? a.sizes.ci : a.sizes.full;
      const d: Launched =
        target === 'containerd' ? await launchContainerd() : await launchBerthd({ env: values.backend ? { BERTH_GRPC_SERVER: values.backend } : {} });
      current = d;
      try {
        log(`${a.name} (${size}) against ${target}`);
        const m = await measure(d.address, d.pid, a, size);
        rows.push({ target, ...m });
        log(
          `  ${m.outcome} | +${m.rssGrowthMiB.toFixed(1)} MiB | probe max ${m.probeMaxMs.toFixed(1)} ms over ${m.probes} | ${m.alive ? 'up' : 'DEAD'}${m.violations.length ? ` | ${m.violations.length} violations: ${m.violations[0]}` : ''}`,
        );
      } finally {
        current = undefined;
        await d.stop();
      }
    }
  }
  const label = (t: string) => (t === 'berth' && values.backend ? `berth (${values.backend})` : t);
  console.log(`| attack | target | outcome | RSS growth | probe max | up | frames within peer settings |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    console.log(
      `| ${r.name} (${r.size}) | ${label(r.target)} | ${r.outcome} | +${r.rssGrowthMiB.toFixed(1)} MiB | ${r.probeMaxMs === Infinity ? 'failed' : `${r.probeMaxMs.toFixed(0)} ms`}${r.probeFailures.length ? ` (${r.probeFailures.length} failed)` : ''} | ${r.alive ? 'yes' : 'NO'} | ${r.violations.length ? `no: ${r.violations[0]}` : 'yes'} |`,
    );
  }
  log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
