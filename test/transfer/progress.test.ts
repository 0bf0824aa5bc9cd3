import { progressStream } from '../../src/transfer';

describe('progress as an async iterator', () => {
  it('yields every event in order, keeping only the latest download progress per blob while the reader lags', async () => {
    const p = progressStream();
    p.push({ event: 'resolving', name: 'r' });
    p.push({ event: 'downloading', name: 'a', progress: 1, total: 10 });
    p.push({ event: 'downloading', name: 'b', progress: 1, total: 10 });
    p.push({ event: 'downloading', name: 'a', progress: 5, total: 10 });
    p.push({ event: 'complete', name: 'a', progress: 10, total: 10 });
    p.end();
    p.push({ event: 'late', name: 'x' }); // after end: dropped
    const got = [];
    for await (const e of p) got.push(`${e.event}:${e.name}:${e.progress ?? ''}`);
    expect(got).toEqual(['resolving:r:', 'downloading:b:1', 'downloading:a:5', 'complete:a:10']);
  });

  it('a waiting reader wakes for each event and ends with end()', async () => {
    const p = progressStream();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of p) seen.push(e.event);
    })();
    p.push({ event: 'one', name: 'x' });
    await new Promise((r) => setImmediate(r));
    p.push({ event: 'two', name: 'x' });
    p.end();
    await reading;
    expect(seen).toEqual(['one', 'two']);
  });
});
