/**
 * cp, export, diff, import and history through the engine on a real berthd stack, with an image
 * whose paths are hostile: symlinks to /etc/passwd, `../../..`, and one that reaches a host
 * sentinel directory from the snapshot's layer dir. `cp` into and out of the container, stopped or
 * running, touches only the container: the host's /etc/passwd keeps its content and mtime and the
 * sentinel stays empty.
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { busyboxEntries } from '../helpers/images';
import { layerTarStream } from '../helpers/oci-layer';
import { EngineFixture } from '../helpers/engine';
import { failure } from '../helpers/errors';
import { tarEntries } from '../helpers/tar-entries';
import { itRoot } from './it-root';

const f = new EngineFixture('engfiles');
const IMG = 'docker.io/library/hostile:latest';
let sentinel: string;
let passwd: { content: string; mtimeMs: number };

beforeAll(async () => {
  await f.setup();
  sentinel = await mkdtemp(join(tmpdir(), 'berth-engfiles-host-'));
  passwd = { content: await readFile('/etc/passwd', 'utf8'), mtimeMs: (await stat('/etc/passwd')).mtimeMs };
  await f.addImage({
    name: IMG,
    layers: [
      {
        entries: [
          ...busyboxEntries(),
          { path: 'data', type: 'dir' },
          { path: 'data/pw', type: 'symlink', linkname: '/etc/passwd' },
          { path: 'data/up', type: 'symlink', linkname: '../../../../../../../..' },
          { path: 'data/esc', type: 'symlink', linkname: `../../../../../../../../../../../../../../..${sentinel}` },
        ],
      },
    ],
    config: { Cmd: ['sh'] },
  });
}, 120_000);
afterAll(async () => {
  await f.teardown();
  await rm(sentinel, { recursive: true, force: true });
}, 60_000);

async function tarOf(entries: Array<{ name: string; data: string }>): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, mode: 0o644 }, e.data);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** name → content, or `-> target` for a symlink. */
const entriesOf = async (tar: Readable) => new Map([...(await tarEntries(tar))].map(([k, v]) => [k, v.type === 'symlink' ? `-> ${v.content}` : v.content]));

async function hostUntouched(): Promise<void> {
  expect(await readFile('/etc/passwd', 'utf8')).toBe(passwd.content);
  expect((await stat('/etc/passwd')).mtimeMs).toBe(passwd.mtimeMs);
  expect(await readdir(sentinel)).toEqual([]);
}

async function output(id: string): Promise<string> {
  let s = '';
  for await (const e of f.engine.logs(f.ctx, id)) s += e.data.toString();
  return s;
}

describe('engine: cp', () => {
  itRoot('into and out of a stopped and a running container whose paths point at the host', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, cmd: ['sleep', '1000'] });
    const t = await tarOf([
      { name: 'pw', data: 'not the host\n' },
      { name: 'up/at-root', data: 'root of the container\n' },
      { name: 'esc/planted', data: 'x' },
    ]);
    await f.engine.copyTo(f.ctx, c.id, '/data', Readable.from([t])); // stopped: its snapshot
    await hostUntouched();
    await f.engine.start(f.ctx, c.id);
    await f.engine.copyTo(f.ctx, c.id, 'data', Readable.from([gzipSync(await tarOf([{ name: 'esc/live', data: 'y' }]))])); // running: its own view
    await hostUntouched();
    const x = await f.engine.exec(f.ctx, c.id, { cmd: ['sh', '-c', `cat /data/pw /at-root; ls ${sentinel}`] });
    let out = '';
    for await (const e of x.events()) if (e.kind === 'stdout') out += e.data.toString();
    expect(out).toBe(`not the host\nroot of the container\nlive\nplanted\n`);

    const { stat: st, archive } = await f.engine.copyFrom(f.ctx, c.id, '/data/up');
    expect(st).toMatchObject({ name: 'up', linkTarget: '/' });
    expect([...(await entriesOf(archive.stream)).entries()]).toEqual([['up', '-> ../../../../../../../..']]);
    const etc = await entriesOf((await f.engine.copyFrom(f.ctx, c.id, '/etc')).archive.stream);
    expect(etc.get('etc/passwd')).toContain('root:x:0:0:root:/root:/bin/sh');
    expect(etc.get('etc/passwd')).not.toBe(passwd.content);
    expect((await failure(f.engine.copyFrom(f.ctx, c.id, '/nope')))[0]).toBe('NotFound');
    expect((await failure(f.engine.copyTo(f.ctx, c.id, '/data', Readable.from([await tarOf([{ name: '../../x', data: '' }])]))))[0]).toBe('InvalidArgument');
    await f.engine.remove(f.ctx, c.id, { force: true });
    await hostUntouched();
  });

  itRoot('a read-only root filesystem takes files only on its volumes', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, readonlyRootfs: true, volumes: ['/vol'], cmd: ['true'] });
    expect((await failure(f.engine.copyTo(f.ctx, c.id, '/data', Readable.from([await tarOf([{ name: 'a', data: 'a' }])]))))[1]).toContain(
      'container rootfs is marked read-only',
    );
    await f.engine.copyTo(f.ctx, c.id, '/vol', Readable.from([await tarOf([{ name: 'a', data: 'a' }])]));
    const vol = (await f.engine.inspect(f.ctx, c.id)).mounts[0]!.source;
    expect(await readFile(join(f.engine.volumes.dataDir(f.ctx.ns, vol), 'a'), 'utf8')).toBe('a');
    await f.engine.remove(f.ctx, c.id, { volumes: true });
  });
});

describe('engine: export, diff, import, history', () => {
  itRoot('export is the root filesystem with the container’s changes; diff lists them as Docker does', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, volumes: ['/vol'], cmd: ['sh', '-c', 'echo new > /etc/new; rm /bin/ls; echo v > /vol/in-volume'] });
    await f.engine.start(f.ctx, c.id);
    await f.engine.wait(f.ctx, c.id);
    const e = await entriesOf((await f.engine.export(f.ctx, c.id)).stream);
    expect(e.get('etc/new')).toBe('new\n');
    expect(e.has('bin/ls')).toBe(false);
    expect(e.get('data/pw')).toBe('-> /etc/passwd');
    expect([...e.keys()].some((k) => k.includes('in-volume'))).toBe(false);
    expect((await f.engine.changes(f.ctx, c.id)).map((x) => `${x.kind} ${x.path}`)).toEqual(['C /bin', 'D /bin/ls', 'C /etc', 'A /etc/new']);
    await f.engine.remove(f.ctx, c.id, { volumes: true });
  });

  itRoot('import makes a runnable single-layer image with --change; history shows it', async () => {
    const tar = layerTarStream({ entries: busyboxEntries() });
    const { imageId, name } = await f.engine.importImage(f.ctx, tar, {
      reference: 'imported:v1',
      changes: ['CMD ["echo", "from import"]', 'ENV A=1 B=2', 'LABEL x=y'],
      message: 'made in a test',
    });
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(name).toBe('docker.io/library/imported:v1');
    const c = await f.engine.create(f.ctx, { image: 'imported:v1' });
    expect(c.config.env).toEqual(expect.arrayContaining(['A=1', 'B=2']));
    expect(c.config.labels).toEqual({ x: 'y' });
    await f.engine.start(f.ctx, c.id);
    await f.engine.wait(f.ctx, c.id);
    expect(await output(c.id)).toBe('from import\n');
    const h = await f.engine.history(f.ctx, 'imported:v1');
    expect(h).toEqual([expect.objectContaining({ id: imageId, tags: ['imported:v1'], comment: 'made in a test', createdBy: '' })]);
    expect(h[0]!.size).toBeGreaterThan(500_000); // busybox, unpacked
    await f.engine.remove(f.ctx, c.id);
    // A dangling import (no reference), and refusals.
    const dangling = await f.engine.importImage(f.ctx, Readable.from([gzipSync(await tarOf([{ name: 'f', data: 'x' }]))]));
    expect(dangling.name).toBe(dangling.imageId);
    expect((await failure(f.engine.importImage(f.ctx, Readable.from([Buffer.from('not a tar at all, not at all'.repeat(30))]))))[0]).toBe('InvalidArgument');
    expect((await failure(f.engine.importImage(f.ctx, tar, { changes: ['RUN make'] })))[1]).toBe('RUN is not a valid change command');
  });
});
