import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { packAny } from '../../src/api/proto';
import type { EventExchange } from '../../src/events/exchange';
import { EVENTS } from '../../src/daemon/slices/events';
import { startInProcess, rawClient, call, nsMetadata } from '../helpers/daemon';
import { ctr } from '../helpers/ctr';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));

/** A running `ctr events`: its stdout lines, parsed as `<timestamp> <namespace> <topic> <json>`. */
class CtrEvents {
  private child: ChildProcess;
  private out = '';
  private waiters: Array<() => void> = [];
  exited = false;
  stderr = '';

  constructor(address: string, args: string[] = []) {
    this.child = spawn('ctr', ['--address', address, 'events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => {
      this.out += b.toString();
      this.waiters.splice(0).forEach((w) => w());
    });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.child.on('exit', () => {
      this.exited = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  lines(): Array<{ namespace: string; topic: string; event: any }> {
    return this.out
      .split('\n')
      .map((l) => /^\S+ \S+ \S+ \S+ (\S+) (\/\S+) (\{.*\})$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ namespace: m[1]!, topic: m[2]!, event: JSON.parse(m[3]!) }));
  }

  /** Waits (no timer: jest's test timeout bounds it) until a line matches. */
  async waitFor(ns: string, topic: string, pred: (ev: any) => boolean = () => true) {
    for (;;) {
      const hit = this.lines().find((l) => l.namespace === ns && l.topic === topic && pred(l.event));
      if (hit) return hit;
      if (this.exited) throw new Error(`ctr events exited; stdout=${this.out} stderr=${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async kill() {
    if (this.exited) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await done;
  }
}

describe('ctr events against berthd', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let exchange: EventExchange;
  let ev: CtrEvents | undefined;

  beforeAll(async () => {
    // No background GC during the test: an unreferenced blob must still be there for `content rm`.
    d = await startInProcess({ gc: { scheduleDelayMs: 3_600_000 } });
    exchange = d.daemon.parts.get(EVENTS);
  });
  afterEach(async () => {
    await ev?.kill();
    ev = undefined;
    // A killed ctr's subscription is released once the server sees the connection go.
    while (exchange.subscriberCount > 0) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(async () => {
    await d?.stop();
  });

  async function startEvents(args: string[] = []) {
    const before = exchange.subscriberCount;
    ev = new CtrEvents(d.daemon.address, args);
    while (exchange.subscriberCount <= before) {
      if (ev.exited) throw new Error(`ctr events exited: ${ev.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return ev;
  }

  itCtr('shows namespace create/delete events (ctr namespaces create / rm)', async () => {
    const e = await startEvents();
    const c = await ctr(d.daemon.address, ['namespaces', 'create', 'evx', 'k=v']);
    expect(c).toMatchObject({ code: 0 });
    const created = await e.waitFor('default', '/namespaces/create', (x) => x.name === 'evx');
    expect(created.event.labels).toEqual({ k: 'v' });
    expect((await ctr(d.daemon.address, ['namespaces', 'rm', 'evx'])).code).toBe(0);
    await e.waitFor('evx', '/namespaces/delete', (x) => x.name === 'evx');
  });

  itCtr('prints events published in any namespace as "<time> <namespace> <topic> <json>"; a topic filter narrows them', async () => {
    const all = await startEvents();
    const filtered = new CtrEvents(d.daemon.address, ['topic=="/test/two"']);
    try {
      while (exchange.subscriberCount < 2) await new Promise((r) => setTimeout(r, 10));
      const events = rawClient(d.daemon.address, 'containerd.services.events.v1.Events');
      try {
        await call(
          events,
          'Publish',
          { topic: '/test/one', event: packAny('containerd.events.NamespaceCreate', { name: 'n1', labels: { a: 'b' } }) },
          nsMetadata('other'),
        );
        await call(
          events,
          'Publish',
          { topic: '/test/two', event: packAny('containerd.events.ContentDelete', { digest: 'sha256:' + 'c'.repeat(64) }) },
          nsMetadata('third'),
        );
      } finally {
        events.close();
      }
      expect((await all.waitFor('other', '/test/one')).event).toEqual({ name: 'n1', labels: { a: 'b' } });
      await all.waitFor('third', '/test/two');
      await filtered.waitFor('third', '/test/two');
      expect(filtered.lines().map((l) => l.topic)).toEqual(['/test/two']);
    } finally {
      await filtered.kill();
    }
  });

  itCtr('shows content delete events (ctr content ingest / rm)', async () => {
    const e = await startEvents();
    const data = Buffer.from('berth events interop blob\n');
    const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
    expect(await ctr(d.daemon.address, ['content', 'ingest', 'ev-blob'], { input: data })).toMatchObject({ code: 0 });
    expect(await ctr(d.daemon.address, ['content', 'rm', digest])).toMatchObject({ code: 0 });
    await e.waitFor('default', '/content/delete', (x) => x.digest === digest);
  });

  itCtr('shows image create/delete events (ctr images tag / rm)', async () => {
    const e = await startEvents();
    const images = rawClient(d.daemon.address, 'containerd.services.images.v1.Images');
    try {
      const target = { media_type: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + 'b'.repeat(64), size: '10' };
      await call(images, 'Create', { image: { name: 'docker.io/library/ev-src:1', target } });
      await e.waitFor('default', '/images/create', (x) => x.name === 'docker.io/library/ev-src:1');
      expect(await ctr(d.daemon.address, ['images', 'tag', 'docker.io/library/ev-src:1', 'docker.io/library/ev-dst:1'])).toMatchObject({ code: 0 });
      await e.waitFor('default', '/images/create', (x) => x.name === 'docker.io/library/ev-dst:1');
      expect(await ctr(d.daemon.address, ['images', 'rm', 'docker.io/library/ev-dst:1', 'docker.io/library/ev-src:1'])).toMatchObject({ code: 0 });
      await e.waitFor('default', '/images/delete', (x) => x.name === 'docker.io/library/ev-dst:1');
      await e.waitFor('default', '/images/delete', (x) => x.name === 'docker.io/library/ev-src:1');
    } finally {
      images.close();
    }
  });
});
