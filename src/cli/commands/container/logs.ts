/**
 * `berth logs`: the container's json-file log through berthd. `-f` follows until the container
 * stops; when berthd goes away meanwhile (a crash, a restart) it waits for berthd to answer
 * again and continues after the last line it printed, so nothing is lost or printed twice
 * (the monitor kept writing the log while berthd was down).
 */
import { errorKind, isUnavailable, toTimestamp } from '../../../client';
import { timeNs } from '../../../core/time';
import type { Cli } from '../../cli';
import { CliError, defineCommand } from '../../command';
import { parseTimeArg } from '../../output/units';

/** How long `logs -f` waits for a berthd that went away before giving up. */
const RECONNECT_MS = 120_000;

async function pause(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER',
  summary: 'Fetch the logs of a container',
  minArgs: 1,
  maxArgs: 1,
  complete: 'containers',
  flags: {
    details: { type: 'bool', desc: 'Show extra details provided to logs (none with json-file)', hidden: true },
    follow: { type: 'bool', short: 'f', desc: 'Follow log output' },
    since: { type: 'string', desc: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', placeholder: 'string' },
    tail: { type: 'string', short: 'n', desc: 'Number of lines to show from the end of the logs', placeholder: 'string', defaultText: '"all"' },
    timestamps: { type: 'bool', short: 't', desc: 'Show timestamps' },
    until: {
      type: 'string',
      desc: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
      placeholder: 'string',
    },
  },
  async run(cli, f, [container]) {
    let tail: number | undefined;
    if (f.tail !== undefined && f.tail !== 'all') {
      if (!/^-?\d+$/.test(f.tail)) throw new CliError(`invalid value for --tail: ${JSON.stringify(f.tail)} (a number or "all")`, 125);
      tail = Number(f.tail) < 0 ? undefined : Number(f.tail);
    }
    let since = f.since === undefined ? undefined : parseTimeArg(f.since, '--since');
    const until = f.until === undefined ? undefined : parseTimeArg(f.until, '--until');
    // The time of the last line printed; after a reconnect, lines up to it are not printed again.
    let lastNs = -1n;
    let skipTo = -1n;
    const out = new LineBatcher(cli);
    for (;;) {
      try {
        const stream = cli.client.engine.logs({
          container,
          stdout: true,
          stderr: true,
          follow: f.follow,
          since: since && toTimestamp(since),
          until: until && toTimestamp(until),
          tail: tail === undefined ? undefined : String(tail),
        });
        for await (const batch of stream) {
          let printed: string | undefined;
          for (const e of batch.entries) {
            // Entries come in time order: once one is past skipTo, the rest are too.
            if (skipTo >= 0n) {
              if (timeNs(e.timestamp) <= skipTo) continue;
              skipTo = -1n;
            }
            printed = e.timestamp;
            out.add(e.stream === 'stderr', f.timestamps ? `${e.timestamp} ` : undefined, e.data);
          }
          if (printed !== undefined) lastNs = timeNs(printed);
          // A message's lines go out together (in `logs -f`, as they arrived), before the next is read.
          await out.flush();
        }
        await out.flush();
        return 0;
      } catch (e) {
        await out.flush();
        if (!f.follow || !isUnavailable(e)) throw e;
      }
      await waitForBerthd(cli);
      // Continue after the last line printed (or from where the first request started).
      if (lastNs >= 0n) {
        skipTo = lastNs;
        since = new Date(Number(lastNs / 1_000_000n));
        tail = undefined;
      }
    }
  },
});

/**
 * Lines to stdout/stderr in few writes: the lines of a run on one stream are written at once
 * (a 100 MiB log is a million lines), each run after the one before it was taken.
 */
class LineBatcher {
  private runs: Array<{ stderr: boolean; parts: Buffer[]; size: number }> = [];

  constructor(private readonly cli: Cli) {}

  add(stderr: boolean, prefix: string | undefined, line: Buffer): void {
    let run = this.runs[this.runs.length - 1];
    if (!run || run.stderr !== stderr) this.runs.push((run = { stderr, parts: [], size: 0 }));
    if (prefix !== undefined) {
      const p = Buffer.from(prefix);
      run.parts.push(p);
      run.size += p.length;
    }
    run.parts.push(line);
    run.size += line.length;
  }

  async flush(): Promise<void> {
    const runs = this.runs;
    this.runs = [];
    for (const r of runs) {
      const data = r.parts.length === 1 ? r.parts[0]! : Buffer.concat(r.parts, r.size);
      await (r.stderr ? this.cli.err(data) : this.cli.out(data));
    }
  }
}

/** Waits until berthd answers a Version call again. */
async function waitForBerthd(cli: Cli): Promise<void> {
  const deadline = Date.now() + RECONNECT_MS;
  for (;;) {
    await pause(200);
    try {
      await cli.client.version.version({}, { timeoutMs: 2000 });
      return;
    } catch (e) {
      if (!isUnavailable(e) && errorKind(e) !== 'DeadlineExceeded') throw e;
      if (Date.now() > deadline) throw new CliError(`berthd has not answered for ${RECONNECT_MS / 1000} s: ${(e as Error).message}`, 1);
    }
  }
}
