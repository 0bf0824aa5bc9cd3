/**
 * The composition root's contract: the order comes from `requires`, a cycle or a missing provider
 * stops start-up with a message that names the slices, a slice reads only what it requires and
 * sets only (and all of) what it provides, and the plugin list is the slices' entries in order.
 */
import { emptyWired, orderSlices, wireSlices, type Base } from '../../src/daemon/compose';
import { ConfigSchema } from '../../src/daemon/config';
import { Part, Parts, type Slice, type SliceContext } from '../../src/daemon/slice';
import { SLICES } from '../../src/daemon/slices';
import { CONTENT } from '../../src/daemon/slices/content';
import { GC } from '../../src/daemon/slices/gc';
import { SNAPSHOTTERS } from '../../src/daemon/slices/snapshotters';
import { TASKS } from '../../src/daemon/slices/tasks';
import { nullLogger } from '../../src/core/logger';
import type { MetadataDB } from '../../src/metadata/db';
import { ServiceRegistry } from '../../src/services/grpc/registry';

const A = new Part<number>('a');
const B = new Part<string>('b');
const C = new Part<{ n: number }>('c');

function slice(name: string, requires: Part<unknown>[], provides: Part<unknown>[], wire: (ctx: SliceContext) => void = () => undefined): Slice {
  return { name, requires, provides, plugins: () => [{ type: 'io.berth.test.v1', id: name }], wire };
}

const names = (s: Slice[]) => s.map((x) => x.name);

describe('orderSlices', () => {
  it('wires each slice after the slices providing what it requires, else in the order given', () => {
    const c = slice('c', [A, B], [C]);
    const b = slice('b', [A], [B]);
    const a = slice('a', [], [A]);
    const lone = slice('lone', [], []);
    expect(names(orderSlices([c, lone, b, a]))).toEqual(['a', 'b', 'c', 'lone']);
    expect(names(orderSlices([lone, a, b, c]))).toEqual(['lone', 'a', 'b', 'c']);
  });

  it('reports a cycle with its path and the parts that close it', () => {
    const x = slice('snapshots', [B], [A]);
    const y = slice('tasks', [A], [B]);
    expect(() => orderSlices([x, y])).toThrow("daemon slices: cycle snapshots → tasks → snapshots ('snapshots' requires 'b', 'tasks' requires 'a')");
    const self = slice('self', [C], [C]);
    expect(() => orderSlices([self])).toThrow(/cycle self → self/);
  });

  it('reports a part that no slice provides, and one that two provide', () => {
    expect(() => orderSlices([slice('diff', [C], [])])).toThrow("daemon slices: 'diff' requires part 'c', which no slice provides");
    expect(() => orderSlices([slice('one', [], [A]), slice('two', [], [A])])).toThrow("part 'a' is provided by both 'one' and 'two'");
  });

  it("orders berthd's own slices so that GC sits below the services that delete, and tasks after the snapshotters", () => {
    const order = names(orderSlices(SLICES));
    const at = (n: string) => order.indexOf(n);
    expect(order).toHaveLength(SLICES.length);
    for (const [before, after] of [
      ['content', 'gc'],
      ['snapshotters', 'gc'],
      ['gc', 'content-service'],
      ['gc', 'snapshots-service'],
      ['gc', 'metadata'],
      ['launcher', 'snapshotters'],
      ['snapshotters', 'tasks'],
      ['content', 'diff'],
    ]) {
      expect([before, after, at(before) < at(after)]).toEqual([before, after, true]);
    }
    const provided = SLICES.flatMap((s) => s.provides);
    for (const p of [CONTENT, GC, SNAPSHOTTERS, TASKS]) expect(provided).toContain(p);
  });
});

describe('wireSlices', () => {
  const base: Base = { config: ConfigSchema.parse({}), log: nullLogger, db: {} as MetadataDB, services: new ServiceRegistry() };

  it('hands each slice the parts it requires, typed, and lists the plugins in wiring order', async () => {
    const seen: unknown[] = [];
    const wired = await wireSlices(base, [
      slice('c', [A, B], [C], (ctx) => {
        seen.push(ctx.need(A) + 1, ctx.need(B).toUpperCase());
        ctx.provide(C, { n: ctx.need(A) });
      }),
      slice('b', [], [B], (ctx) => ctx.provide(B, 'bee')),
      slice('a', [], [A], (ctx) => ctx.provide(A, 41)),
    ]);
    expect(seen).toEqual([42, 'BEE']);
    expect(wired.parts.get(C)).toEqual({ n: 41 });
    expect(wired.plugins.map((p) => p.id)).toEqual(['a', 'b', 'c']);
  });

  it('refuses a read of a part the slice did not require, a part it does not provide, and a provide left out', async () => {
    const a = slice('a', [], [A], (ctx) => ctx.provide(A, 1));
    await expect(wireSlices(base, [a, slice('sneaky', [], [], (ctx) => void ctx.need(A))])).rejects.toThrow(
      "daemon slice 'sneaky' reads part 'a' without requiring it",
    );
    await expect(wireSlices(base, [slice('extra', [], [], (ctx) => ctx.provide(B, 'x'))])).rejects.toThrow(
      "daemon slice 'extra' sets part 'b' without providing it",
    );
    await expect(wireSlices(base, [slice('lazy', [], [A, B], (ctx) => ctx.provide(A, 1))])).rejects.toThrow("daemon slice 'lazy' did not provide 'b'");
  });

  it('runs shutdown hooks and closers in reverse wiring order, and keeps those of slices wired before a failure', async () => {
    const calls: string[] = [];
    const hooks = (name: string) => (ctx: SliceContext) => {
      ctx.onShutdown(() => void calls.push(`shutdown ${name}`));
      ctx.onClose(() => void calls.push(`close ${name}`));
    };
    const wired = emptyWired();
    const boom = slice('boom', [B], [], () => {
      throw new Error('boom');
    });
    await expect(
      wireSlices(
        base,
        [
          slice('first', [], [A], (ctx) => (hooks('first')(ctx), ctx.provide(A, 1))),
          slice('second', [A], [B], (ctx) => (hooks('second')(ctx), ctx.provide(B, 'b'))),
          boom,
        ],
        wired,
      ),
    ).rejects.toThrow('boom');
    for (const fn of [...wired.shutdownHooks, ...wired.closers]) await fn();
    expect(calls).toEqual(['shutdown second', 'shutdown first', 'close second', 'close first']);
  });
});

describe('Parts', () => {
  it('keeps one value per daemon under each key, and refuses a second value', () => {
    const one = new Parts();
    const two = new Parts();
    one.set(A, 1);
    two.set(A, 2);
    expect([one.get(A), two.get(A), one.has(B)]).toEqual([1, 2, false]);
    expect(() => one.set(A, 3)).toThrow("part 'a' is provided twice");
    expect(() => one.get(B)).toThrow("part 'b' is not wired");
  });
});
