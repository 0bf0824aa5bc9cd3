/** The machine's own limits, so a reader can tell "slow code" from "slow box". */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BUSYBOX_BIN } from '../../test/helpers/images';

export interface MachineLimits {
  cpus: number;
  cpuModel: string;
  memMiB: number;
  /** One core, MiB/s. */
  sha256MiBs: number;
  gzipMiBs: number; // level 6 (the default everyone uses), realistic binary input
  gunzipMiBs: number;
  /** 1/5/15-minute load averages when the run began: above `cpus`, other work shares the cores. */
  loadAvg: number[];
}

function throughput(bytes: number, fn: () => void, minMs = 300): number {
  let n = 0;
  const t0 = process.hrtime.bigint();
  let el: number;
  do {
    fn();
    n++;
    el = Number(process.hrtime.bigint() - t0) / 1e6;
  } while (el < minMs);
  return (bytes * n) / (1 << 20) / (el / 1000);
}

export function measureMachine(quick = false): MachineLimits {
  const minMs = quick ? 150 : 400;
  const big = Buffer.alloc(64 << 20, 7);
  const sha256MiBs = throughput(big.length, () => createHash('sha256').update(big).digest(), minMs);
  // Executable code compresses like real image layers do (≈2:1), unlike zeros or random bytes.
  const bin = readFileSync(BUSYBOX_BIN);
  const input = Buffer.concat(Array.from({ length: Math.ceil((8 << 20) / bin.length) }, () => bin));
  const gz = gzipSync(input);
  const gzipMiBs = throughput(input.length, () => gzipSync(input), minMs);
  const gunzipMiBs = throughput(input.length, () => gunzipSync(gz), minMs);
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? '?', memMiB: Math.round(totalmem() / (1 << 20)), sha256MiBs, gzipMiBs, gunzipMiBs, loadAvg: loadavg() };
}
