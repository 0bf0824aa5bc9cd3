/** Engine/Logs sends many log entries per message: batches keep the order and cap their data. */
import { logBatchesToProto } from '../../src/services/convert/engine';
import type { LogEntry } from '../../src/engine';

const entry = (i: number, bytes: number): LogEntry => ({
  stream: i % 3 ? 'stdout' : 'stderr',
  time: new Date(1_700_000_000_000 + i),
  timestamp: `2023-11-14T22:13:20.${String(i).padStart(9, '0')}Z`,
  data: Buffer.alloc(bytes, 97 + (i % 26)),
});

describe('logBatchesToProto', () => {
  it('puts a long log into few messages of at most 256 KiB of data, in order', () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => entry(i, 100));
    const batches = [...logBatchesToProto(entries)];
    expect(batches.length).toBe(Math.ceil((20_000 * 100) / (256 << 10)));
    for (const b of batches) expect(b.entries.reduce((n, e) => n + e.data.length, 0)).toBeLessThanOrEqual(256 << 10);
    const flat = batches.flatMap((b) => b.entries);
    expect(flat.map((e) => e.timestamp)).toEqual(entries.map((e) => e.timestamp));
    expect(flat.map((e) => e.stream)).toEqual(entries.map((e) => e.stream));
  });

  it('sends an entry bigger than a batch on its own, and nothing for no entries', () => {
    const big = entry(1, 300 << 10);
    const batches = [...logBatchesToProto([entry(0, 10), big, entry(2, 10)])];
    expect(batches.map((b) => b.entries.map((e) => e.data.length))).toEqual([[10], [300 << 10], [10]]);
    expect([...logBatchesToProto([])]).toEqual([]);
  });
});
