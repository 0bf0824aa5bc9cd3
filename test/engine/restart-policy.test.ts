/**
 * Docker's restart policies as berth's engine runs them (src/engine/restart): parsing with the
 * daemon's messages, the restart manager's backoff and limits, the supervisor's timers on a
 * manual clock (no test sleeps), and which containers berthd starts when it starts.
 */
import { ManualClock } from '../../src/core/clock';
import { errorKind } from '../../src/core/errors';
import {
  formatRestartPolicy,
  parseRestartPolicy,
  RestartManager,
  startsOnBoot,
  validateRestartPolicy,
  type BootFacts,
  type RestartPolicy,
} from '../../src/engine/restart/policy';
import { RestartSupervisor } from '../../src/engine/restart/supervisor';

const fail = (ranForMs = 5) => ({ exitCode: 1, manuallyStopped: false, ranForMs });
const ok = (ranForMs = 5) => ({ exitCode: 0, manuallyStopped: false, ranForMs });

describe('restart policy: parsing', () => {
  it.each([
    ['', { name: 'no', maximumRetryCount: 0 }],
    ['no', { name: 'no', maximumRetryCount: 0 }],
    ['always', { name: 'always', maximumRetryCount: 0 }],
    ['unless-stopped', { name: 'unless-stopped', maximumRetryCount: 0 }],
    ['on-failure', { name: 'on-failure', maximumRetryCount: 0 }],
    ['on-failure:3', { name: 'on-failure', maximumRetryCount: 3 }],
    ['on-failure:', { name: 'on-failure', maximumRetryCount: 0 }],
  ])('%j', (s, want) => {
    expect(parseRestartPolicy(s)).toEqual(want);
  });

  it.each([
    ['sometimes', "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
    ['on-failure:x', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:1.5', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:-1', 'invalid restart policy: maximum retry count cannot be negative'],
    ['always:3', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['no:-2', "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"],
    [':3', 'invalid restart policy format: no policy provided before colon'],
  ])('%j is refused as Docker refuses it', (s, msg) => {
    let err: unknown;
    try {
      parseRestartPolicy(s);
    } catch (e) {
      err = e;
    }
    expect(errorKind(err)).toBe('InvalidArgument');
    expect((err as Error).message).toBe(msg);
  });

  it('the API form takes an empty name as no, and formats back to the CLI form', () => {
    expect(validateRestartPolicy({ name: '', maximumRetryCount: 0 })).toEqual({ name: 'no', maximumRetryCount: 0 });
    expect(formatRestartPolicy(parseRestartPolicy('on-failure:3'))).toBe('on-failure:3');
    expect(formatRestartPolicy(parseRestartPolicy('on-failure'))).toBe('on-failure');
    expect(formatRestartPolicy(parseRestartPolicy('unless-stopped'))).toBe('unless-stopped');
  });
});

describe('restart manager', () => {
  it('on-failure:3 restarts three times, 100/200/400 ms apart, then gives up', () => {
    const m = new RestartManager(parseRestartPolicy('on-failure:3'), 0);
    const ds = [1, 2, 3, 4, 5].map(() => m.decide(fail()));
    expect(ds).toEqual([
      { restart: true, delayMs: 100, restartCount: 1 },
      { restart: true, delayMs: 200, restartCount: 2 },
      { restart: true, delayMs: 400, restartCount: 3 },
      { restart: false },
      { restart: false },
    ]);
    expect(m.restartCount).toBe(3);
  });

  it('on-failure does not restart after exit 0; the count starts from the stored one', () => {
    expect(new RestartManager(parseRestartPolicy('on-failure'), 0).decide(ok())).toEqual({ restart: false });
    const m = new RestartManager(parseRestartPolicy('on-failure:3'), 2);
    expect(m.decide(fail())).toEqual({ restart: true, delayMs: 100, restartCount: 3 });
    expect(m.decide(fail())).toEqual({ restart: false });
  });

  it('the backoff doubles to one minute and stays there', () => {
    const m = new RestartManager(parseRestartPolicy('always'), 0);
    const delays = Array.from({ length: 14 }, () => (m.decide(ok()) as { delayMs: number }).delayMs);
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000, 60000]);
  });

  it('a run of 10 s starts the backoff over; 9.999 s does not', () => {
    const m = new RestartManager(parseRestartPolicy('always'), 0);
    for (let i = 0; i < 5; i++) m.decide(ok());
    expect(m.decide(ok(9_999))).toMatchObject({ delayMs: 3200 });
    expect(m.decide(ok(10_000))).toMatchObject({ delayMs: 100 });
    expect(m.decide(ok())).toMatchObject({ delayMs: 200 });
  });

  it('unless-stopped does not restart after a manual stop; always does until canceled', () => {
    const stopped = { exitCode: 0, manuallyStopped: true, ranForMs: 5 };
    expect(new RestartManager(parseRestartPolicy('unless-stopped'), 0).decide(stopped)).toEqual({ restart: false });
    expect(new RestartManager(parseRestartPolicy('unless-stopped'), 0).decide(ok())).toMatchObject({ restart: true });
    const m = new RestartManager(parseRestartPolicy('always'), 0);
    expect(m.decide(stopped)).toMatchObject({ restart: true });
    m.cancel();
    expect(m.decide(fail())).toEqual({ restart: false });
  });

  it('no never restarts', () => {
    expect(new RestartManager(parseRestartPolicy('no'), 0).decide(fail())).toEqual({ restart: false });
  });
});

/** A container driven through the supervisor: each start runs `runMs` then exits with `code`. */
function harness(policy: RestartPolicy, opts: { runMs?: number; code?: number; startFails?: boolean } = {}) {
  const clock = new ManualClock(1_000_000);
  const log: string[] = [];
  let state = 'running';
  let count = 0;
  let startedAt = clock.now();
  const sup: RestartSupervisor = new RestartSupervisor(
    {
      restart: async () => {
        log.push(`restart@${clock.now()}`);
        if (opts.startFails) throw new Error('no such file');
        state = 'running';
        startedAt = clock.now();
        clock.setTimer(opts.runMs ?? 5, exit);
      },
      gaveUp: (_ns, _id, reason) => {
        log.push(`gaveUp:${errorKind(reason) ?? reason.message}`);
        state = 'exited';
      },
    },
    clock,
  );
  function exit() {
    if (state !== 'running') return;
    const d = sup.exited('ns', 'c1', policy, count, { exitCode: opts.code ?? 1, manuallyStopped: false, ranForMs: clock.now() - startedAt });
    state = d.restart ? 'restarting' : 'exited';
    if (d.restart) count = d.restartCount;
    log.push(`exit->${state}`);
  }
  sup.started('ns', 'c1', policy);
  clock.setTimer(opts.runMs ?? 5, exit);
  return { clock, log, sup, state: () => state, count: () => count };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('restart supervisor (manual clock)', () => {
  it('on-failure:3: three restarts after 100, 200 and 400 ms of backoff, then exited with RestartCount 3', async () => {
    const h = harness(parseRestartPolicy('on-failure:3'));
    const t0 = h.clock.now();
    for (let i = 0; i < 10; i++) {
      h.clock.advance(1000);
      await flush();
    }
    expect(h.state()).toBe('exited');
    expect(h.count()).toBe(3);
    const restarts = h.log.filter((l) => l.startsWith('restart@')).map((l) => Number(l.slice(8)) - t0);
    // run 5 ms, wait 100; run 5, wait 200; run 5, wait 400.
    expect(restarts).toEqual([105, 310, 715]);
    expect(h.log.filter((l) => l.startsWith('exit->'))).toEqual(['exit->restarting', 'exit->restarting', 'exit->restarting', 'exit->exited']);
  });

  it('nothing restarts before its backoff is over', async () => {
    const h = harness(parseRestartPolicy('always'));
    h.clock.advance(5); // exits
    expect(h.state()).toBe('restarting');
    expect(h.sup.isPending('ns', 'c1')).toBe(true);
    h.clock.advance(99);
    await flush();
    expect(h.log.some((l) => l.startsWith('restart@'))).toBe(false);
    h.clock.advance(1);
    await flush();
    expect(h.state()).toBe('running');
  });

  it('a stop while restarting cancels the restart and every later one until an explicit start', async () => {
    const h = harness(parseRestartPolicy('always'));
    h.clock.advance(5);
    expect(h.state()).toBe('restarting');
    expect(h.sup.stopping('ns', 'c1', parseRestartPolicy('always'), h.count())).toBe(true);
    await flush();
    expect(h.state()).toBe('exited');
    expect(h.log).toContain('gaveUp:Canceled');
    h.clock.advance(120_000);
    await flush();
    expect(h.log.some((l) => l.startsWith('restart@'))).toBe(false);
    // A canceled manager says no to any exit...
    expect(h.sup.exited('ns', 'c1', parseRestartPolicy('always'), 1, fail())).toEqual({ restart: false });
    // ...until an explicit start makes a fresh one.
    h.sup.started('ns', 'c1', parseRestartPolicy('always'));
    expect(h.sup.restartCount('ns', 'c1')).toBe(0);
    expect(h.sup.exited('ns', 'c1', parseRestartPolicy('always'), 0, fail())).toEqual({ restart: true, delayMs: 100, restartCount: 1 });
  });

  it('a restart whose start fails leaves the container exited', async () => {
    const h = harness(parseRestartPolicy('always'), { startFails: true });
    h.clock.advance(5);
    h.clock.advance(100);
    await flush();
    await flush();
    expect(h.log).toEqual(['exit->restarting', `restart@${1_000_105}`, 'gaveUp:no such file']);
    expect(h.state()).toBe('exited');
  });

  it('close drops pending restarts silently (the next berthd starts them)', async () => {
    const h = harness(parseRestartPolicy('always'));
    h.clock.advance(5);
    h.sup.close();
    h.clock.advance(1000);
    await flush();
    expect(h.log).toEqual(['exit->restarting']);
    expect(h.clock.pending()).toEqual([]);
  });

  it('update --restart keeps the count (on-failure:5 after 3 restarts of on-failure:3)', () => {
    const h = harness(parseRestartPolicy('on-failure:3'));
    const sup = h.sup;
    for (let i = 0; i < 3; i++) sup.exited('ns', 'c1', parseRestartPolicy('on-failure:3'), 0, fail());
    expect(sup.exited('ns', 'c1', parseRestartPolicy('on-failure:3'), 0, fail())).toEqual({ restart: false });
    expect(sup.exited('ns', 'c1', parseRestartPolicy('on-failure:5'), 0, fail())).toMatchObject({ restart: true, restartCount: 4 });
    sup.close();
  });
});

describe('berthd start (startsOnBoot)', () => {
  const base: BootFacts = { policy: parseRestartPolicy('always'), stopped: true, startedBefore: true, exitCode: 0, manuallyStopped: false, restartCount: 0 };
  it.each<[string, Partial<BootFacts>, boolean]>([
    ['always, exited', {}, true],
    ['always, stopped on purpose (a stop cancels always only until berthd starts)', { manuallyStopped: true }, true],
    ['always, still running (taken over, not started)', { stopped: false }, false],
    ['always, never started', { startedBefore: false }, false],
    ['unless-stopped, died with the host', { policy: parseRestartPolicy('unless-stopped'), exitCode: 255 }, true],
    ['unless-stopped, stopped on purpose', { policy: parseRestartPolicy('unless-stopped'), manuallyStopped: true }, false],
    ['on-failure, failed', { policy: parseRestartPolicy('on-failure'), exitCode: 2 }, true],
    ['on-failure, exit 0', { policy: parseRestartPolicy('on-failure') }, false],
    ['on-failure:3, 3 restarts done', { policy: parseRestartPolicy('on-failure:3'), exitCode: 1, restartCount: 3 }, false],
    ['on-failure:3, 2 restarts done', { policy: parseRestartPolicy('on-failure:3'), exitCode: 1, restartCount: 2 }, true],
    ['no', { policy: parseRestartPolicy('no'), exitCode: 1 }, false],
  ])('%s', (_name, facts, want) => {
    expect(startsOnBoot({ ...base, ...facts })).toBe(want);
  });
});
