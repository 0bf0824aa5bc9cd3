import { mark } from './startup-trace';
import { type Part, Parts, type PluginInfo, type Slice, type SliceContext } from './slice';

/**
 * The wiring order: every slice after the slices that provide what it requires, otherwise in
 * the order given (so the plugin list and the logs read the same from run to run). Throws with
 * the path of a cycle, a part nobody provides, or a part two slices provide.
 */
export function orderSlices(slices: readonly Slice[]): Slice[] {
  const provider = new Map<Part<unknown>, Slice>();
  for (const s of slices) {
    for (const p of s.provides) {
      const other = provider.get(p);
      if (other) throw new Error(`daemon slices: part '${p.name}' is provided by both '${other.name}' and '${s.name}'`);
      provider.set(p, s);
    }
  }
  const depsOf = (s: Slice): Array<{ part: Part<unknown>; by: Slice }> =>
    s.requires.map((part) => {
      const by = provider.get(part);
      if (!by) throw new Error(`daemon slices: '${s.name}' requires part '${part.name}', which no slice provides`);
      return { part, by };
    });

  const done = new Set<Slice>();
  const out: Slice[] = [];
  // The current depth-first path: each slice and the part that led to the next one.
  const path: Array<{ slice: Slice; part?: Part<unknown> }> = [];
  const visit = (s: Slice): void => {
    if (done.has(s)) return;
    const at = path.findIndex((e) => e.slice === s);
    if (at >= 0) {
      const steps = path.slice(at).map((e) => `'${e.slice.name}' requires '${e.part?.name}'`);
      throw new Error(
        `daemon slices: cycle ${[...path.slice(at).map((e) => e.slice.name), s.name].join(' → ')} (${steps.join(', ')}); break it with an interface a lower slice provides`,
      );
    }
    const here: { slice: Slice; part?: Part<unknown> } = { slice: s };
    path.push(here);
    for (const { part, by } of depsOf(s)) {
      here.part = part;
      visit(by);
    }
    path.pop();
    done.add(s);
    out.push(s);
  };
  for (const s of slices) visit(s);
  return out;
}

/** What the daemon keeps from wiring: the parts, the plugin list and the release hooks. */
export interface Wired {
  readonly parts: Parts;
  /** Introspection/Plugins: every wired slice's entries, in wiring order (read at call time). */
  readonly plugins: PluginInfo[];
  /** Reverse wiring order. */
  readonly shutdownHooks: Array<() => Promise<void> | void>;
  /** Reverse wiring order. */
  readonly closers: Array<() => Promise<void> | void>;
}

export type Base = Pick<SliceContext, 'config' | 'log' | 'db' | 'services'>;

/**
 * Wires `slices` in dependency order. Each slice reads only the parts it requires and must set
 * every part it provides. On failure the hooks of the slices already wired are in `wired`, which
 * the caller releases.
 */
export async function wireSlices(base: Base, slices: readonly Slice[], wired: Wired = emptyWired()): Promise<Wired> {
  const order = orderSlices(slices);
  for (const s of order) wired.plugins.push(...s.plugins(base.config));
  for (const s of order) {
    const ctx: SliceContext = {
      ...base,
      need: (p) => {
        if (!s.requires.includes(p)) throw new Error(`daemon slice '${s.name}' reads part '${p.name}' without requiring it`);
        return wired.parts.get(p);
      },
      provide: (p, value) => {
        if (!s.provides.includes(p)) throw new Error(`daemon slice '${s.name}' sets part '${p.name}' without providing it`);
        wired.parts.set(p, value);
      },
      plugins: () => wired.plugins,
      onClose: (fn) => void wired.closers.unshift(fn),
      onShutdown: (fn) => void wired.shutdownHooks.unshift(fn),
    };
    await s.wire(ctx);
    mark(`slice ${s.name}`);
    const missing = s.provides.filter((p) => !wired.parts.has(p));
    if (missing.length) throw new Error(`daemon slice '${s.name}' did not provide ${missing.map((p) => `'${p.name}'`).join(', ')}`);
  }
  return wired;
}

export function emptyWired(): Wired {
  return { parts: new Parts(), plugins: [], shutdownHooks: [], closers: [] };
}
