import { progressStream } from '../../src/transfer';
import { deferred, Limiter } from '../../src/transfer/limit';

describe('progress as an async iterator', () => {
  it('yields every event in order, keeping only the latest download progress per blob while the reader lags', async () => {
    const p = progressStream();
    p.push({ event: 'resolving', name: 'r' });
    p.push({ event: 'downloading', name: 'a', progress: 1, total: 10 });
    p.push({ event: 'downloading', name: 'b', progress: 1, total: 10 });
    p.push({ event: 'downloading', name: 'a', progress: 5, total: 10 });
    p.push({ event: 'complete', name: 'a', progress: 10, total: 10 });
    p.end();
    p.push({ event: 'late', name: 'x' }); // after end: dropped
    const got = [];
    for await (const e of p) got.push(`${e.event}:${e.name}:${e.progress ?? ''}`);
    expect(got).toEqual(['resolving:r:', 'downloading:b:1', 'downloading:a:5', 'complete:a:10']);
  });

  it('a waiting reader wakes for each event and ends with end()', async () => {
    const p = progressStream();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of p) seen.push(e.event);
    })();
    p.push({ event: 'one', name: 'x' });
    await new Promise((r) => setImmediate(r));
    p.push({ event: 'two', name: 'x' });
    p.end();
    await reading;
    expect(seen).toEqual(['one', 'two']);
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
