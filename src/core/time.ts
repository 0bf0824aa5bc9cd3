/** RFC 3339 times with nanoseconds, as the json-file log writes them (the log reader and `berth logs -f` compare them). */

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits (the log's). */
export function timeNs(s: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return BigInt(Date.parse(s)) * 1_000_000n;
  const secs = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  return secs * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

const GO_DURATION = /^(\d+(?:\.\d+)?(?:ns|us|\u00b5s|ms|s|m|h))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds of a Go duration as Go's time.ParseDuration reads Docker's `--since`, `--until`
 * and `until=` (`500ms`, `10m`, `1h30m`, without a sign); undefined when `s` is not one.
 */
export function goDurationMs(s: string): number | undefined {
  if (!GO_DURATION.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(GO_DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}
