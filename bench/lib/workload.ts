/**
 * The contract between the harness (bench/run.ts) and a workload. A workload never starts its own
 * long-running daemons: it gets one `Side` per implementation and is run A B A B against both.
 */
import type { RunResult } from '../../test/helpers/ctr';
import type { BuiltImageFiles } from '../../test/helpers/images';
import type { Registry } from '../../test/helpers/registry';
import type { Summary } from './stats';

export type SideName = 'berth' | 'containerd';

/** A daemon started by the harness (long-running, or fresh from Side.launch()). */
export interface Launched {
  address: string;
  pid: number;
  /** Private dir holding its root, state and socket (removed by stop()). */
  dir: string;
  /** Spawn → first successful Version RPC, in ms. */
  startupMs: number;
  /**
   * ctr against this daemon when it needs more than `ctr --address`: containerd's fixture nests
   * `ctr run` containers under our own cgroup (`--cgroup`), where ctr's `/<ns>/<id>` would be outside it.
   */
  ctr?(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number; namespace?: string }): Promise<RunResult>;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** Parent of the daemon's private dir (root, state, socket). */
  under?: string;
  /** Extra environment for berthd (e.g. BERTH_GRPC_SERVER); containerd ignores it. */
  env?: Record<string, string>;
}

export interface Side {
  name: SideName;
  /** The long-running daemon of this side, shared by all workloads (namespace it if you mutate). */
  daemon: Launched;
  /** The real ctr against daemon.address. */
  ctr(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number; namespace?: string }): Promise<RunResult>;
  /**
   * A fresh, empty daemon of this side with its own dirs (under `opts.under`, e.g. '/dev/shm' for a
   * tmpfs root; default the system temp dir); the caller must stop() it.
   */
  launch(opts?: LaunchOptions): Promise<Launched>;
}

export interface BenchEnv {
  /** Scratch dir for this run (removed at the end). */
  workDir: string;
  /** --quick: fewer rounds and smaller inputs; workloads should honour it. */
  quick: boolean;
  /** busybox + hostile images built once per run (layout dir, OCI archive, docker archive). */
  images(): Promise<BuiltImageFiles>;
  /** One loopback registry per run, started on first use. */
  registry(): Promise<Registry>;
  log(msg: string): void;
}

export interface Target {
  /** As the issue states it, e.g. "≥ 3× containerd" or "≤ 1 MiB". */
  text: string;
  met(berth: Summary, containerd: Summary): boolean;
}

export interface Workload {
  /** Short kebab-case id, used by --only. */
  name: string;
  description: string;
  /** Unit of one sample, e.g. 'ms', 'MiB', 'MiB/s'. */
  unit: string;
  /** Which direction is better: decides the sense of the ratio column. */
  better: 'lower' | 'higher';
  /** Rounds (A B pairs); default: the harness's --rounds. */
  rounds?: number;
  /** Per-sample time limit in ms (default 120000): a stuck sample fails the row, never the run. */
  timeoutMs?: number;
  target?: Target;
  /**
   * Can this side run the workload with the landed code? true, or a reason shown as "not yet"
   * (e.g. the RPC answered UNIMPLEMENTED). Asked of berth only; containerd is assumed complete.
   */
  supported?(side: Side, env: BenchEnv): Promise<true | string>;
  setup?(side: Side, env: BenchEnv): Promise<void>;
  /** One measurement (or several, e.g. per-call latencies of one burst). */
  sample(side: Side, env: BenchEnv, round: number): Promise<number | number[]>;
  teardown?(side: Side, env: BenchEnv): Promise<void>;
}

/**
 * One run of `experiment` per (side, round) of a bench run, shared by the rows that read it
 * (whichever runs first starts it): e.g. RSS 1 s and 10 s after the same churn.
 */
export function sharedPerRound<T>(
  experiment: (side: Side, env: BenchEnv, round: number) => Promise<T>,
): (side: Side, env: BenchEnv, round: number) => Promise<T> {
  const runs = new WeakMap<BenchEnv, Map<string, Promise<T>>>();
  return (side, env, round) => {
    let m = runs.get(env);
    if (!m) runs.set(env, (m = new Map()));
    const key = `${side.name}:${round}`;
    let p = m.get(key);
    if (!p) m.set(key, (p = experiment(side, env, round)));
    return p;
  };
}
