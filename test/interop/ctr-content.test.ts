import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ctr } from '../helpers/ctr';
import { nsMetadata, rawClient, startInProcess } from '../helpers/daemon';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ctr content against berthd', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let addr: string;
  beforeAll(async () => {
    // Blobs ingested by ctr without a lease are unreferenced: keep background GC (at start-up and
    // after `content rm`) out of the way so the test sees them deterministically.
    d = await startInProcess({ gc: { scheduleDelayMs: 3600_000 } });
    addr = d.dirs.address;
  });
  afterAll(async () => {
    await d.stop();
  });

  itCtr('ingest without expectations, then ls, get, label, rm', async () => {
    const data = Buffer.from('plain ingest via ctr\n'.repeat(5000));
    const dg = sha(data);
    const ing = await ctr(addr, ['content', 'ingest', 'plain-1'], { input: data });
    expect(ing.stderr).toBe('');
    expect(ing.code).toBe(0);
    const ls = await ctr(addr, ['content', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(dg);
    const get = await ctr(addr, ['content', 'get', dg]);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect(get.stdout).toBe(data.toString());
    const lbl = await ctr(addr, ['content', 'label', dg, 'foo=bar', 'containerd.io/gc.root=x']);
    expect(lbl.code).toBe(0);
    const ls2 = await ctr(addr, ['content', 'ls']);
    expect(ls2.stdout).toMatch(/containerd\.io\/gc\.root=x,foo=bar|foo=bar,containerd\.io\/gc\.root=x/);
    const rm = await ctr(addr, ['content', 'rm', dg]);
    expect(rm.code).toBe(0);
    expect((await ctr(addr, ['content', 'ls'])).stdout).not.toContain(dg);
    const get2 = await ctr(addr, ['content', 'get', dg]);
    expect(get2.code).not.toBe(0);
    expect(get2.stderr).toMatch(/not found/);
  });

  itCtr('ingest with --expected-digest/--expected-size; a wrong digest is refused and nothing is committed', async () => {
    const data = Buffer.from('expected ingest');
    const dg = sha(data);
    const ok = await ctr(addr, ['content', 'ingest', '--expected-digest', dg, '--expected-size', String(data.length), 'exp-1'], { input: data });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect((await ctr(addr, ['content', 'ls'])).stdout).toContain(dg);
    // Same content again: AlreadyExists is success for ctr.
    const again = await ctr(addr, ['content', 'ingest', '--expected-digest', dg, '--expected-size', String(data.length), 'exp-2'], { input: data });
    expect(again.code).toBe(0);

    const other = Buffer.from('other bytes!!!!');
    const bad = await ctr(addr, ['content', 'ingest', '--expected-digest', sha('not these bytes'), '--expected-size', String(other.length), 'exp-bad'], {
      input: other,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unexpected commit digest|failed precondition/);
    expect((await ctr(addr, ['content', 'ls'])).stdout).not.toContain(sha(other));
  });

  itCtr('content active lists an unfinished ingest held open by another client', async () => {
    const client = rawClient(addr, 'containerd.services.content.v1.Content');
    try {
      const stream = (client as any).Write(nsMetadata('default')) as grpc.ClientDuplexStream<any, any>;
      const replies: any[] = [];
      const got = new Promise<void>((resolve, reject) => {
        stream.on('data', (m: any) => {
          replies.push(m);
          if (replies.length === 2) resolve();
        });
        stream.on('error', reject);
      });
      stream.write({ action: 'STAT', ref: 'held-open', total: 100 });
      stream.write({ action: 'WRITE', ref: 'held-open', offset: 0, data: Buffer.alloc(42, 1) });
      await got;
      const active = await ctr(addr, ['content', 'active']);
      expect(active.code).toBe(0);
      expect(active.stdout).toMatch(/held-open\s+42 B\/100 B|held-open/);
      expect(active.stdout).toContain('held-open');
      const done = new Promise((r) => stream.on('end', r).on('error', r));
      stream.end();
      await done;
      // Still resumable after the stream ended; abort removes it.
      expect((await ctr(addr, ['content', 'active'])).stdout).toContain('held-open');
    } finally {
      client.close();
    }
  });
});
