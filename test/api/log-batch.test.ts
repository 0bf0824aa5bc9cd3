/**
 * Engine/Logs' responses decoded by hand (src/api/log-batch.ts) equal the generated decoder's,
 * for the usual encoding and for anything else (which the generated decoder then takes).
 */
import { service } from '../../src/api/descriptors';
import { LogBatch, type LogEntry } from '../../src/api/gen/berth/engine/v1/engine';
import { decodeLogBatch } from '../../src/api/log-batch';

const generated = (b: Uint8Array) => LogBatch.decode(b);
const encode = (entries: Array<Partial<LogEntry>>) => Buffer.from(LogBatch.encode(LogBatch.fromPartial({ entries })).finish());

describe('LogBatch decoded by hand', () => {
  it('gives what the generated decoder gives, without calling it, for the usual entries', () => {
    const bytes = encode([
      { stream: 'stdout', time: { seconds: '1765126800', nanos: 123_000_000 }, timestamp: '2025-12-07T17:00:00.123456789Z', data: Buffer.from('one\n') },
      { stream: 'stderr', time: { seconds: '1765126800', nanos: 0 }, timestamp: '2025-12-07T17:00:00Z', data: Buffer.from('two 😀\n') },
      { stream: 'stdout', time: { seconds: '0', nanos: 0 }, timestamp: '', data: Buffer.alloc(0) },
      { stream: 'other', time: undefined, timestamp: 'ünï', data: Buffer.alloc(70_000, 0x78) },
      { stream: 'stdout', time: { seconds: String(2 ** 40), nanos: 999_999_999 }, timestamp: 'x', data: Buffer.from('far future') },
    ]);
    const fail = () => {
      throw new Error('the generated decoder was called');
    };
    expect(decodeLogBatch(bytes, fail)).toEqual(generated(bytes));
    expect(decodeLogBatch(Buffer.alloc(0), fail)).toEqual({ entries: [] });
  });

  it('hands anything else to the generated decoder', () => {
    const negative = encode([{ stream: 'stdout', time: { seconds: '-1', nanos: 500_000_000 }, timestamp: 't', data: Buffer.from('before 1970') }]);
    const unknownField = Buffer.concat([encode([{ stream: 'stdout', data: Buffer.from('a') }]), Buffer.from([0x10, 0x01])]);
    const unknownInEntry = Buffer.from([0x0a, 0x05, 0x28, 0x01, 0x22, 0x01, 0x61]);
    for (const b of [negative, unknownField, unknownInEntry]) {
      let called = 0;
      const got = decodeLogBatch(b, (x) => (called++, generated(x)));
      expect(called).toBe(1);
      expect(got).toEqual(generated(b));
    }
    const truncated = encode([{ stream: 'stdout', data: Buffer.from('abc') }]).subarray(0, 6);
    expect(() => decodeLogBatch(truncated, generated)).toThrow();
  });

  it('is what the client library decodes Engine/Logs responses with', () => {
    const bytes = encode([{ stream: 'stdout', time: { seconds: '1', nanos: 2 }, timestamp: 't', data: Buffer.from('d') }]);
    const logs = service('berth.engine.v1.Engine').methods.Logs;
    const got = logs.decodeResponse(bytes);
    expect(got).toEqual(generated(bytes));
    // The hand decoder gives views of the message; the generated one copies.
    expect(got.entries[0]!.data.buffer).toBe(bytes.buffer);
  });
});
