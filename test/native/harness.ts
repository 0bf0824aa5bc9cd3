/** Shared setup for the native helper tests: rootfs, state dirs, launching from a default spec. */
import { mkdtemp, readFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcess, removeStateDir, type CreatedProcess, type HelperOptions, type LaunchPlanInput, type MonitorClient } from '../../src/tasks/helper';
import { defaultSpec, specToPlan, type OciSpec } from '../../src/tasks/spec';
import { makeBusyboxRootfs, type BusyboxRootfs } from '../helpers/busybox-rootfs';
import { expectClean, snapshot, type SystemSnapshot } from '../helpers/cleanup';
import { itWith, requireRoot } from '../helpers/requires';
import { prepareCgroupBase } from '../../src/tasks/cgroup-base';
import { slow } from '../helpers/slow';

export const itRoot = itWith(requireRoot());

export class Harness {
  rootfs!: BusyboxRootfs;
  stateRoot!: string;
  private seq = 0;
  readonly prefix = `t${process.pid}`;

  async setup(): Promise<void> {
    prepareCgroupBase(); // what berthd does at start (cgroup v2: leave our cgroup to the containers)
    this.rootfs = await makeBusyboxRootfs();
    this.stateRoot = await mkdtemp(join(tmpdir(), 'berth-state-'));
  }

  private readonly live = new Set<Running>();

  async teardown(): Promise<void> {
    // Safety net for failed tests: never leave a container running on the machine.
    for (const r of this.live) {
      await r.monitor.kill('SIGKILL', { all: true }).catch(() => undefined);
      await r.monitor.wait({ timeoutMs: slow(10_000) }).catch(() => undefined);
    }
    await this.rootfs?.remove();
    if (this.stateRoot) {
      const left = await readdir(this.stateRoot);
      await rm(this.stateRoot, { recursive: true, force: true });
      if (left.length) throw new Error(`state dirs left behind: ${left.join(', ')}`);
    }
  }

  /** Removes state dirs of launches that failed (nothing to wait for). */
  async teardownLeftovers(): Promise<void> {
    for (const e of await readdir(this.stateRoot)) await rm(join(this.stateRoot, e), { recursive: true, force: true });
  }

  nextId(name: string): string {
    return `${this.prefix}-${name}-${++this.seq}`;
  }

  spec(id: string, args: string[], tweak?: (s: OciSpec) => void): OciSpec {
    const s = defaultSpec({ id, namespace: 'test', args });
    tweak?.(s);
    return s;
  }

  plan(id: string, spec: OciSpec, extra: Partial<LaunchPlanInput> = {}): LaunchPlanInput {
    const { plan } = specToPlan(spec, { id, stateDir: join(this.stateRoot, id), rootfs: this.rootfs.rootfs });
    return { ...plan, ...extra };
  }

  /** create + start; stdout/stderr go to files in the state root unless the plan says otherwise. */
  async run(name: string, args: string[], opts: { tweak?: (s: OciSpec) => void; extra?: Partial<LaunchPlanInput>; helper?: HelperOptions } = {}): Promise<Running> {
    const id = this.nextId(name);
    const out = join(this.stateRoot, `${id}.out`);
    const plan = this.plan(id, this.spec(id, args, opts.tweak), {
      stdio: { stdout: { kind: 'file', path: out }, stderr: { kind: 'file', path: out } },
      ...opts.extra,
    });
    const created = await createProcess(plan, opts.helper);
    await created.start();
    const r = new Running(id, plan, created, out, () => this.live.delete(r));
    this.live.add(r);
    return r;
  }
}

export class Running {
  constructor(
    readonly id: string,
    readonly plan: LaunchPlanInput,
    readonly created: CreatedProcess,
    readonly outPath: string,
    private readonly onRemoved?: () => void,
  ) {}
  get pid(): number {
    return this.created.pid;
  }
  get monitor(): MonitorClient {
    return this.created.monitor;
  }
  async output(): Promise<string> {
    return readFile(this.outPath, 'utf8').catch(() => '');
  }
  /** Waits for exit, returns status and output, removes state dir and output file. */
  async finish(): Promise<{ status: number; out: string; oom: boolean }> {
    const exit = await this.monitor.wait();
    const out = await this.output();
    await this.remove();
    return { status: exit.exitStatus, out, oom: exit.oomKilled };
  }
  async remove(): Promise<void> {
    this.onRemoved?.();
    await removeStateDir(this.plan.stateDir);
    await rm(this.outPath, { force: true });
  }
}

export { until } from '../helpers/until';

/**
 * A Harness set up for the whole file, with a leak check (mounts, cgroups, processes, fds) around
 * every test: the setup each native test file shares.
 */
export function useHarness(): Harness {
  const h = new Harness();
  let before: SystemSnapshot;
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());
  beforeEach(() => {
    before = snapshot();
  });
  afterEach(async () => {
    await expectClean(before);
  });
  return h;
}
