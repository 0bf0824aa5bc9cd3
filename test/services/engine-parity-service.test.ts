/**
 * The engine's volume, file and prune RPCs through the client library against an in-process
 * berthd: bad input gets the right status (never a crash or a hang), a client stream must start
 * with its init, a cancelled export or import leaves no helper process and nothing half-made.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client, errorKind } from '../../src/client';
import { EngineFixture, until } from '../helpers/engine';
import { layerTarStream } from '../helpers/oci-layer';
import { busyboxEntries } from '../helpers/images';
import { itRoot } from '../engine/it-root';

const f = new EngineFixture('engparity');
let client: Client;
beforeAll(async () => {
  await f.setup();
  await f.addImage();
  client = new Client({ address: f.dirs.address, namespace: f.ns });
}, 120_000);
afterAll(async () => {
  client?.close();
  await f.teardown();
}, 60_000);

const kindOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => errorKind(e),
  );

/** berth-rootfs helpers this process started that are still alive. */
function rootfsHelpers(): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${e}/cmdline`, 'utf8').includes('berth-rootfs')) out.push(e);
    } catch {
      /* gone */
    }
  }
  return out;
}

async function* garbage(): AsyncGenerator<Buffer> {
  yield Buffer.from('this is not a tar archive, not gzip either'.repeat(40));
}

describe('engine volume, file and prune RPCs', () => {
  itRoot('bad input answers InvalidArgument or NotFound', async () => {
    const e = client.engine;
    expect(await kindOf(e.createVolume({ name: 'bad/name' }))).toBe('InvalidArgument');
    expect(await kindOf(e.inspectVolume({ name: '' }))).toBe('InvalidArgument');
    expect(await kindOf(e.inspectVolume({ name: 'nope' }))).toBe('NotFound');
    expect(await kindOf(e.removeVolume({ name: 'nope' }))).toBe('NotFound');
    expect(await kindOf(e.removeVolume({ name: 'nope', force: true }))).toBe('ok');
    expect(await kindOf(e.listVolumes({ filters: { bogus: { values: ['x'] } } }))).toBe('InvalidArgument');
    expect(await kindOf(e.update({ container: 'nope', memory: '1g' }))).toBe('NotFound');
    expect(await kindOf(e.statPath({ container: 'nope', path: '/' }))).toBe('NotFound');
    expect(await kindOf(e.statPath({ container: '', path: '/' }))).toBe('InvalidArgument');
    expect(await kindOf(e.history({ image: 'nope' }))).toBe('NotFound');
    expect(await kindOf(e.prune({ filters: { bogus: { values: ['x'] } } }))).toBe('InvalidArgument');
    const { id } = await e.create({ image: 'busybox', cmd: ['true'] });
    expect(await kindOf(e.update({ container: id }))).toBe('InvalidArgument');
    expect(await kindOf(e.copyFromArchive({ container: id, path: '/no/such/path' }))).toBe('NotFound');
    await e.remove({ container: id });
  });

  itRoot('a client stream must start with its init; a garbage tar is refused and berthd goes on', async () => {
    const { id } = await client.engine.create({ image: 'busybox', cmd: ['true'] });
    const call = client.engine.copyTo();
    await call.send({ data: Buffer.from('x') });
    await call.end();
    expect(await kindOf(call.done)).toBe('InvalidArgument');
    expect(await kindOf(client.engine.copyToArchive({ container: id, path: '/tmp' }, garbage()))).not.toBe('ok');
    expect(await kindOf(client.engine.importArchive({ reference: 'garbage:1' }, garbage()))).not.toBe('ok');
    expect((await client.engine.listImages({})).images.flatMap((i) => i.repo_tags)).not.toContain('garbage:1');
    expect((await client.engine.statPath({ container: id, path: '/bin/busybox' })).name).toBe('busybox');
    await client.engine.remove({ container: id });
  });

  itRoot('a cancelled export or import leaves no helper running and no image', async () => {
    const { id } = await client.engine.create({ image: 'busybox', cmd: ['true'] });
    const ac = new AbortController();
    const it = client.engine.exportArchive({ container: id }, { signal: ac.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value.length).toBeGreaterThan(0);
    ac.abort();
    await expect(it.next()).rejects.toMatchObject({ kind: 'Canceled' });
    await until('the export helper gone', () => rootfsHelpers().length === 0);

    const ac2 = new AbortController();
    const chunks: Buffer[] = [];
    for await (const b of layerTarStream({ entries: busyboxEntries() })) chunks.push(b as Buffer);
    async function* slowTar(): AsyncGenerator<Buffer> {
      let n = 0;
      for (const b of chunks) {
        yield b;
        if (++n === 3) {
          ac2.abort();
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    expect(await kindOf(client.engine.importArchive({ reference: 'half:1' }, slowTar(), { signal: ac2.signal }))).toBe('Canceled');
    await until('the import helper gone', () => rootfsHelpers().length === 0);
    expect((await client.engine.listImages({})).images.flatMap((i) => i.repo_tags)).not.toContain('half:1');
    await client.engine.remove({ container: id });
  });
});
