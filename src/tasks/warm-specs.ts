/**
 * Specs and launch plans prepared between Containers/Create and Tasks/Create (TaskManager.warmSpec):
 * the two zod parses were ~0.8 ms of Tasks/Create's path, while ctr spends ~3 ms on its own calls
 * in between. Keyed by namespace/id and checked against the stored spec value, so an updated spec
 * is parsed again; a bad one is left for Tasks/Create to report.
 */
import { invalidArgument } from '../core/errors';
import type { Mount } from '../core/types';
import { validatePlan, withLaunchParts, type Capture, type LaunchPlan } from './helper';
import { parseSpec, type OciSpec, type SpecToPlanOptions } from './spec';

/** Containers created without a task: only the newest few are kept. */
const WARM_SPECS_MAX = 16;
/**
 * The plan comes this long after the spec, so that ctr's next call (Leases/Delete, ~0.5 ms after
 * the reply) is not kept waiting behind both (it took 0.3 -> 1.0 ms when they ran back to back).
 */
const WARM_PLAN_DELAY_MS = 2;

export interface WarmSpec {
  /** The container record's spec value both came from. */
  value: string;
  spec: OciSpec;
  /** Validated, with no rootfs mounts and null stdio (see withLaunchParts); set a little later. */
  plan?: LaunchPlan;
}

export function parseSpecJson(json: string, id: string): unknown {
  try {
    return JSON.parse(json);
  } catch (e) {
    throw invalidArgument(`container ${id}: spec is not JSON`, { cause: e });
  }
}

export class WarmSpecs {
  private readonly specs = new Map<string, WarmSpec>();

  /** Parses `value` (base64 spec JSON) on a later turn, then builds its plan with `plan`. */
  warm(key: string, id: string, value: string, plan: (spec: OciSpec) => Parameters<typeof validatePlan>[0] | undefined): void {
    setImmediate(() => {
      let warm: WarmSpec;
      try {
        warm = { value, spec: parseSpec(parseSpecJson(Buffer.from(value, 'base64').toString('utf8'), id), id) };
      } catch {
        return;
      }
      this.specs.delete(key);
      this.specs.set(key, warm);
      for (const k of this.specs.keys()) if (this.specs.size > WARM_SPECS_MAX) this.specs.delete(k);
      setTimeout(() => {
        if (this.specs.get(key) !== warm) return; // taken (or replaced) already
        try {
          const input = plan(warm.spec); // undefined: not ready yet (a seccomp filter compiling)
          if (input) warm.plan = validatePlan(input);
        } catch {
          /* Tasks/Create builds it and reports what is wrong */
        }
      }, WARM_PLAN_DELAY_MS);
    });
  }

  /** The prepared spec (and plan, if ready) for this stored value; taken once. */
  take(key: string, value: string): WarmSpec | undefined {
    const w = this.specs.get(key);
    if (!w) return undefined;
    this.specs.delete(key);
    return w.value === value ? w : undefined;
  }
}

/** The warm plan with this call's rootfs mounts and stdio, or undefined to build it anew. */
export function warmPlan(
  warm: WarmSpec | undefined,
  terminal: boolean,
  rootfs: Mount[],
  stdio: SpecToPlanOptions['stdio'],
  capture?: Capture,
): LaunchPlan | undefined {
  if (!warm?.plan || warm.plan.terminal !== terminal) return undefined;
  try {
    return withLaunchParts(warm.plan, { rootfsMounts: rootfs.map((m) => ({ type: m.type, source: m.source, options: m.options })), stdio, capture });
  } catch {
    return undefined; // the full path reports it
  }
}
