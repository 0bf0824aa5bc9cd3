/** core/time: the Go durations Docker's `--since`/`--until` and prune's `until=` take. */
import { goDurationMs } from '../../src/core/time';
import { pruneMatcher } from '../../src/engine/prune';

describe('goDurationMs', () => {
  it('reads every unit, fractions and compounds, as Go does', () => {
    expect(goDurationMs('500ms')).toBe(500);
    expect(goDurationMs('1.5s')).toBe(1500);
    expect(goDurationMs('10m')).toBe(600_000);
    expect(goDurationMs('1h30m')).toBe(5_400_000);
    expect(goDurationMs('2us')).toBeCloseTo(0.002);
    expect(goDurationMs('2\u00b5s')).toBeCloseTo(0.002);
    expect(goDurationMs('3000000ns')).toBeCloseTo(3);
  });

  it('is undefined for anything else: times, bare numbers, signs, unknown units', () => {
    for (const s of ['2024-01-02T15:04:05Z', '1700000000', '-5m', '5d', '', 'm', '1h 30m']) expect(goDurationMs(s)).toBeUndefined();
  });
});

describe("prune's until=", () => {
  it('takes a compound duration back from now, and refuses what is neither a duration nor a time', () => {
    const keep = pruneMatcher({ until: ['1h30m'] });
    expect(keep(new Date(Date.now() - 2 * 3_600_000), {})).toBe(true);
    expect(keep(new Date(Date.now() - 3_600_000), {})).toBe(false);
    expect(() => pruneMatcher({ until: ['soon'] })).toThrow("invalid filter 'until=soon'");
  });
});
