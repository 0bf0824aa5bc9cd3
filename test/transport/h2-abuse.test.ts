/**
 * Issue 12's attacks at CI sizes against a real berthd (the built binary, its default HTTP/2
 * backend): each must leave the daemon up, its RSS within 64 MiB of where it was, a Version call
 * on a new connection answering throughout, every frame it sent within the attacker's settings,
 * and the flood pushed back (the connection closed with GOAWAY, or no longer read). The full sizes
 * run by hand beside containerd: bench/h2-abuse.ts (README, "Transport").
 */
import { ATTACKS, measure, type Measured } from '../helpers/h2-attacks';
import { DaemonProcess, testDirs } from '../helpers/daemon';
import { rm } from 'node:fs/promises';

/** The slowest a probe may be here: CI machines are shared (the acceptance's 100 ms is for bench/h2-abuse.ts). */
const PROBE_MS = 1000;

/** How each flood must end: the daemon closed the connection, or stopped reading it. */
const PUSHED_BACK: Record<string, RegExp> = {
  'huge-header': /^(closed|GOAWAY ENHANCE_YOUR_CALM)/,
  'continuation-flood': /^closed\/closed\/closed\/closed after 0\.0/,
  'ping-flood': /^closed after \d+ PINGs/,
  'settings-flood': /^(closed|stalled) after \d+ SETTINGS/,
  'big-window-calls': /^stalled after \d+ calls/,
  'rapid-reset': /^closed after \d+ streams.*ENHANCE_YOUR_CALM/,
};

let d: DaemonProcess;
let dirs: Awaited<ReturnType<typeof testDirs>>;
beforeAll(async () => {
  dirs = await testDirs('berth-abuse-');
  d = new DaemonProcess(dirs);
  await d.start();
});
afterAll(async () => {
  await d.stop();
  await rm(dirs.dir, { recursive: true, force: true });
});

describe('berthd under hostile HTTP/2 peers (issue 12, CI sizes)', () => {
  it.each(ATTACKS.map((a) => [a.name, a] as const))(
    '%s',
    async (_name, attack) => {
      const m: Measured = await measure(dirs.address, d.child!.pid!, attack, attack.sizes.ci);
      expect({ name: m.name, alive: m.alive, ok: m.ok, violations: m.violations, probeFailures: m.probeFailures }).toEqual({
        name: attack.name,
        alive: true,
        ok: true,
        violations: [],
        probeFailures: [],
      });
      expect(m.rssGrowthMiB).toBeLessThan(64);
      expect(m.probeMaxMs).toBeLessThan(PROBE_MS);
      const pushedBack = PUSHED_BACK[attack.name];
      if (pushedBack) expect(m.outcome).toMatch(pushedBack);
    },
    120_000,
  );
});
