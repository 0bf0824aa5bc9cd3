/**
 * berthd loads open-parts.ts in steps, a turn of the event loop apart, after its socket is bound
 * (src/daemon/load-in-turns.ts): I/O that arrives meanwhile (a Version call) runs between steps,
 * and a connection just accepted gets a grace before the next step.
 */
import { GRACE_BUDGET_MS, loadOpenParts, NEW_CONNECTION_GRACE_MS } from '../../src/daemon/load-in-turns';
import type { GrpcServer } from '../../src/transport';

describe('loadOpenParts', () => {
  it('gives the event loop turns between its steps', async () => {
    let turns = 0;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const m = await loadOpenParts({ lastConnectionAt: 0 } as GrpcServer);
    done = true;
    expect(typeof m.openParts).toBe('function');
    // One turn before each step and before open-parts.ts itself.
    expect(turns).toBeGreaterThanOrEqual(5);
  });

  it('waits after a connection just accepted before its next step', async () => {
    const t0 = performance.now();
    await loadOpenParts({ lastConnectionAt: t0 } as GrpcServer);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(NEW_CONNECTION_GRACE_MS - 1);
  });

  it('waits no longer than its budget in all, however often peers connect', async () => {
    // A connection always just made (10 s ahead, even): without the budget each step waits ~10 s.
    const server = {
      get lastConnectionAt() {
        return performance.now() + 10_000;
      },
    } as GrpcServer;
    const t0 = performance.now();
    await loadOpenParts(server);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(GRACE_BUDGET_MS - 1);
    expect(took).toBeLessThan(5000);
  });
});
