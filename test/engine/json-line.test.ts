/**
 * json-file lines decoded from the bytes (LogLines spans) give exactly what JSON.parse gives
 * (decodeLine), for the monitor's usual lines and for every odd one, which takes JSON.parse.
 */
import { timeNs } from '../../src/core/time';
import { decodeLine } from '../../src/engine/logs/files';
import { decodeLineInto, type Keep } from '../../src/engine/logs/json-line';
import { LogLines } from '../../src/engine/logs/lines';
import { LogBatch } from '../../src/api/gen/berth/engine/v1/engine';
import { logEntryToProto } from '../../src/services/convert/engine';
import { encodeLogBatches } from '../../src/services/convert/log-batch';

const ALL: Keep = { stream: [true, true], entry: () => true };
const T = '2026-12-07T17:00:00.123456789Z';
const usual = (log: string, stream = 'stdout', time = T) => `{"log":"${log}","stream":"${stream}","time":"${time}"}`;

/** The lines decoded from one buffer, as the reader does (one newline after each). */
function decodeAll(lines: Array<string | Buffer>, keep = ALL): LogLines {
  const buf = Buffer.concat(lines.flatMap((l) => [Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from('\n')]));
  const out = new LogLines(buf);
  let start = 0;
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
    decodeLineInto(out, start, nl, keep);
    start = nl + 1;
  }
  return out;
}

/** Decodes each line both ways: the same entries; `spans` says which must take the fast path. */
function same(lines: Array<string | Buffer>, spans: boolean): void {
  const got = decodeAll(lines);
  const want = lines.map((l) => decodeLine(Buffer.isBuffer(l) ? l.toString('utf8') : l)).filter((e) => e !== undefined);
  expect([...got]).toEqual(want);
  expect([...Array(got.length).keys()].filter((i) => (got.object(i) === undefined) !== spans).map((i) => got.entry(i).data.toString())).toEqual([]);
}

describe('json-file lines from bytes', () => {
  it('decodes the monitor lines without JSON.parse, escapes and unicode included', () => {
    same(
      [
        usual('plain line\\n'),
        usual('partial, no newline'),
        usual('', 'stderr'),
        usual('tab\\there \\"quoted\\" back\\\\slash \\/ \\b\\f\\r\\n'),
        usual('ctrl \\u0000\\u001b[31mred\\u001b[0m \\u003chtml\\u003e \\u0026 \\u2028\\u2029'),
        usual('raw unicode: héllo wörld ✓ 日本語 😀\\n'),
        usual('escaped unicode: \\u00e9\\u65e5\\ud83d\\ude00 \\uD83D\\uDE00\\n'),
        usual('lone surrogates \\ud83d x \\ude00 \\ud83d\\n'),
        usual('\\ufffd from invalid bytes\\n'),
        usual('crlf text\\r\\n'),
        usual('no fraction', 'stdout', '2026-12-07T17:00:00Z'),
        usual('short fraction', 'stderr', '2026-12-07T17:00:59.5Z'),
        usual('leap to next second', 'stdout', '2026-12-07T17:01:00.000000001Z'),
        usual('offset time (parsed by Date.parse)', 'stdout', '2026-12-07T18:00:00.5+01:00'),
        usual('not a time at all', 'stderr', 'yesterday'),
      ],
      true,
    );
  });

  it('gives anything else to JSON.parse, with the same result or no entry', () => {
    same(
      [
        `${usual('crlf line\\n')}\r`,
        '{"stream":"stdout","log":"keys reordered\\n","time":"2026-12-07T17:00:00Z"}',
        '{"log":"attrs\\n","stream":"stdout","attrs":{"a":"b"},"time":"2026-12-07T17:00:00Z"}',
        '{ "log":"spaces\\n", "stream":"stdout", "time":"2026-12-07T17:00:00Z" }',
        usual('odd stream', 'stdin'),
        usual('escaped time', 'stdout', '2026-12-07T17:00:00\\u002e5Z'),
        usual('bad escape \\x'),
        usual('short \\u12'),
        usual('raw\ttab'),
        usual('trailing backslash \\'),
        'not json',
        '',
        '{"log":"no stream","time":"2026-12-07T17:00:00Z"}',
        Buffer.concat([Buffer.from('{"log":"bad utf8 '), Buffer.from([0xff, 0xc3]), Buffer.from(usual('').slice(8))]),
      ],
      false,
    );
  });

  it('keeps only the chosen stream and times', () => {
    const lines = [
      usual('a\\n', 'stdout', '2026-12-07T17:00:00.1Z'),
      usual('b\\n', 'stderr', '2026-12-07T17:00:00.2Z'),
      usual('c\\n', 'stdout', '2026-12-07T17:00:00.3Z'),
    ];
    const text = (l: LogLines) => [...l].map((e) => e.data.toString());
    expect(text(decodeAll(lines, { stream: [false, true], entry: (e) => e.stream === 'stderr' }))).toEqual(['b\n']);
    const after = (t: string) => timeNs(t) > timeNs('2026-12-07T17:00:00.15Z');
    expect(text(decodeAll(lines, { stream: [true, true], time: after, entry: (e) => after(e.timestamp) }))).toEqual(['b\n', 'c\n']);
  });

  it('encodes spans and odd entries to the bytes the generated encoder makes', () => {
    const lines = decodeAll([
      usual('one\\n'),
      '{"stream":"stderr","log":"odd\\n","time":"2026-12-07T17:00:00Z"}',
      usual('', 'stderr'),
      usual('é\\u00e9\\n', 'stdout', '1969-12-31T23:59:59.5Z'),
    ]);
    expect(lines.object(1)).toBeDefined();
    const [bytes, more] = [...encodeLogBatches(lines)];
    expect(more).toBeUndefined();
    expect(bytes).toEqual(Buffer.from(LogBatch.encode({ entries: [...lines].map(logEntryToProto) }).finish()));
  });
});
