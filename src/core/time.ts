/** RFC 3339 times with nanoseconds, as the json-file log writes them (the log reader and `berth logs -f` compare them). */

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits (the log's). */
export function timeNs(s: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return BigInt(Date.parse(s)) * 1_000_000n;
  const secs = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  return secs * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
