import { startIdleGc } from '../../src/daemon/idle-gc';

describe('idle GC', () => {
  const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('collects once the loop is idle and the heap has grown, and not while busy or small', async () => {
    let heap = 10 << 20;
    let util = 0.5;
    const gcs: number[] = [];
    const g = startIdleGc({
      periodMs: 10,
      growth: 16 << 20,
      settlePeriods: 4,
      settledGrowth: 1 << 20,
      gc: () => {
        gcs.push(heap);
        heap = 11 << 20;
      },
      heapBytes: () => heap,
      utilization: () => util,
    });
    try {
      heap = 40 << 20; // grown, but busy: no collection
      await tick(60);
      expect(gcs).toEqual([]);
      util = 0.01; // idle and grown: one collection
      await tick(60);
      expect(gcs).toEqual([40 << 20]);
      await tick(60); // idle, but nothing grew since: no more
      expect(g.collections()).toBe(1);
      util = 0.5;
      await tick(30);
      heap = 20 << 20; // grown by less than `growth`: nothing in the first idle period
      util = 0.01;
      await new Promise((r) => setTimeout(r, 12));
      expect(g.collections()).toBe(1);
      await tick(80); // ... but once idle for settlePeriods, any growth is collected
      expect(gcs).toEqual([40 << 20, 20 << 20]);
    } finally {
      g.stop();
    }
  });

  it('is off without a gc function (no --expose-gc)', () => {
    const saved = (globalThis as { gc?: unknown }).gc;
    delete (globalThis as { gc?: unknown }).gc;
    try {
      const g = startIdleGc({ periodMs: 10 });
      expect(g.collections()).toBe(0);
      g.stop();
    } finally {
      if (saved) (globalThis as { gc?: unknown }).gc = saved;
    }
  });
});
