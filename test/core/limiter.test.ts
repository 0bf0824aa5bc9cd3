/** core/limiter: the concurrency limit CNI plugin runs and registry transfers share. */
import { Limiter } from '../../src/core/limiter';
import { deferred } from '../../src/transfer/limit';

describe('Limiter', () => {
  it('never runs more than n at once, even when a slot is handed over', async () => {
    const l = new Limiter(2);
    let running = 0;
    let peak = 0;
    const job = () =>
      l.run(async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      });
    await Promise.all(Array.from({ length: 20 }, job));
    expect(peak).toBe(2);
  });
});

describe('limiter', () => {
  it('runs at most n tasks at once, in FIFO order', async () => {
    const l = new Limiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates = [0, 1, 2, 3, 4].map(() => deferred<void>());
    const tasks = gates.map((g, i) =>
      l.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await g.promise;
        running--;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    gates.forEach((g) => g.resolve());
    await Promise.all(tasks);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('a task that releases its slot early lets the next one start while it finishes (once, however often it releases)', async () => {
    const l = new Limiter(1);
    const started: string[] = [];
    const finish = deferred<void>();
    const first = l.run(async (release) => {
      started.push('first');
      release();
      release();
      await finish.promise;
    });
    const second = l.run(async () => void started.push('second'));
    const third = l.run(async () => void started.push('third'));
    await second;
    await third;
    expect(started).toEqual(['first', 'second', 'third']);
    finish.resolve();
    await first;
    // The early release was the only one: the slot count is back to one, not two.
    const gate = deferred<void>();
    const order: string[] = [];
    const a = l.run(async () => {
      order.push('a');
      await gate.promise;
    });
    const b = l.run(async () => void order.push('b'));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a']);
    gate.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
  });
});
