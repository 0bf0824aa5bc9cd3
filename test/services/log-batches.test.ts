/**
 * Engine/Logs sends many log entries per message, encoded straight from the entries: batches keep
 * the order and cap their data, and their bytes are exactly what the generated encoder makes.
 */
import { LogBatch } from '../../src/api/gen/berth/engine/v1/engine';
import { LogLines, type LogEntry } from '../../src/engine';
import { logEntryToProto } from '../../src/services/convert/engine';
import { encodeLogBatches, LOG_BATCH_BYTES } from '../../src/services/convert/log-batch';

const entry = (i: number, bytes: number): LogEntry => ({
  stream: i % 3 ? 'stdout' : 'stderr',
  time: new Date(1_700_000_000_000 + i),
  timestamp: `2023-11-14T22:13:20.${String(i).padStart(9, '0')}Z`,
  data: Buffer.alloc(bytes, 97 + (i % 26)),
});

const decoded = (b: Buffer) => LogBatch.decode(b);

describe('encodeLogBatches', () => {
  it('puts a long log into few messages of at most 256 KiB of data, in order', () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => entry(i, 100));
    const batches = [...encodeLogBatches(LogLines.of(entries))].map(decoded);
    expect(batches.length).toBe(Math.ceil((20_000 * 100) / LOG_BATCH_BYTES));
    for (const b of batches) expect(b.entries.reduce((n, e) => n + e.data.length, 0)).toBeLessThanOrEqual(LOG_BATCH_BYTES);
    const flat = batches.flatMap((b) => b.entries);
    const line = (e: ReturnType<typeof logEntryToProto>) => `${e.stream} ${e.time!.seconds}.${e.time!.nanos} ${e.timestamp} ${e.data.toString()}`;
    expect(flat.map(line)).toEqual(entries.map((e) => line(logEntryToProto(e))));
  });

  it('sends an entry bigger than a batch on its own, and nothing for no entries', () => {
    const big = entry(1, 300 << 10);
    const batches = [...encodeLogBatches(LogLines.of([entry(0, 10), big, entry(2, 10)]))].map(decoded);
    expect(batches.map((b) => b.entries.map((e) => e.data.length))).toEqual([[10], [300 << 10], [10]]);
    expect([...encodeLogBatches(LogLines.of([]))]).toEqual([]);
  });

  it('writes the bytes the generated encoder writes, odd entries included', () => {
    const odd: LogEntry[] = [
      { stream: 'stdout', time: new Date(0), timestamp: '1970-01-01T00:00:00Z', data: Buffer.from('epoch\n') },
      { stream: 'stderr', time: new Date(-1500), timestamp: '1969-12-31T23:59:58.5Z', data: Buffer.alloc(0) },
      { stream: 'stdout', time: new Date(-62135596800000), timestamp: '', data: Buffer.from('year one') },
      { stream: 'stdout', time: new Date(1_700_000_000_000), timestamp: '2023-11-14T22:13:20Z', data: Buffer.from('no fraction\n') },
      { stream: 'stdout', time: new Date(2_208_988_800_250), timestamp: '2040-01-01T00:00:00.25Z', data: Buffer.from('past 2^31 seconds\n') },
      { stream: 'stderr', time: new Date(1_700_000_000_999), timestamp: 'ünïcode ✓', data: Buffer.from('héllo 😀\n') },
      { stream: 'stdout', time: new Date(253402300799999), timestamp: '9999-12-31T23:59:59.999Z', data: Buffer.alloc(200, 0x78) },
      { stream: 'stdout', time: new Date(1_700_000_000_123), timestamp: '2023-11-14T22:13:20.123456789Z', data: Buffer.alloc(70_000, 0x79) },
    ];
    const [bytes] = [...encodeLogBatches(LogLines.of(odd))];
    expect(bytes).toEqual(Buffer.from(LogBatch.encode({ entries: odd.map(logEntryToProto) }).finish()));
  });
});
