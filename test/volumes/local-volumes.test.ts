/**
 * The engine's volume store (src/volumes) on a real metadata DB and real directories: Docker's
 * names, options and messages, users that keep a volume from removal (and survive a reopen, as
 * after a berthd restart), prune of exactly the unused ones (anonymous only unless --all, as
 * Docker >= 23), rm -v, and recovery of what a crash interrupted.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { MetadataDB } from '../../src/metadata/db';
import { keys } from '../../src/metadata/schema';
import { VolumeRecords } from '../../src/metadata/volumes';
import { LevelNamespaceStore } from '../../src/metadata/namespaces';
import type { RootfsOps, VolumeMounter } from '../../src/rootfs';
import { ANONYMOUS_LABEL, LocalVolumes } from '../../src/volumes';
import { failure } from '../helpers/errors';

const ctx = background('default');
// Copy-up and mounted volumes need root: test/rootfs/ has them.
const noRootfs: Pick<RootfsOps, 'copyUp'> & VolumeMounter = {
  mountVolume: () => Promise.reject(new Error('not in this test')),
  umountVolume: () => Promise.reject(new Error('not in this test')),
  copyUp: () => Promise.reject(new Error('not in this test')),
};

let dir: string;
let db: MetadataDB;
let vols: LocalVolumes;

async function open(): Promise<void> {
  db = await MetadataDB.open(join(dir, 'meta'));
  vols = await LocalVolumes.open({ root: join(dir, 'volumes'), records: new VolumeRecords(db), rootfs: noRootfs });
}

async function reopen(): Promise<void> {
  await db.close();
  await open();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-volumes-'));
  await open();
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('volumes: create, inspect, ls', () => {
  it('a named volume is a directory under the root, as Docker lays it out, and creating it again returns it', async () => {
    const v = await vols.create(ctx, { name: 'data', labels: { a: 'b' } });
    expect(v).toMatchObject({ name: 'data', driver: 'local', scope: 'local', labels: { a: 'b' }, options: {}, users: [], anonymous: false });
    expect(v.mountpoint).toBe(join(dir, 'volumes', 'default', 'data', '_data'));
    expect(existsSync(v.mountpoint)).toBe(true);
    await writeFile(join(v.mountpoint, 'f'), 'kept');
    const again = await vols.create(ctx, { name: 'data', labels: { other: 'ignored' } });
    expect(again.labels).toEqual({ a: 'b' });
    expect(await readFile(join(again.mountpoint, 'f'), 'utf8')).toBe('kept');
    expect((await vols.inspect(ctx, 'data')).createdAt.getTime()).toBe(v.createdAt.getTime());
  });

  it('an anonymous volume has a 64-hex name and Docker’s anonymous label', async () => {
    const v = await vols.create(ctx, {});
    expect(v.name).toMatch(/^[0-9a-f]{64}$/);
    expect(v.labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    expect(v.anonymous).toBe(true);
  });

  it.each([
    ['x', 'InvalidArgument', 'volume name is too short, names should be at least two alphanumeric characters'],
    ['-ab', 'InvalidArgument', 'includes invalid characters for a local volume name'],
    ['a/b', 'InvalidArgument', 'includes invalid characters'],
    ['..', 'InvalidArgument', 'includes invalid characters'],
  ])('the name %j is refused', async (name, kind, msg) => {
    const [k, m] = await failure(vols.create(ctx, { name }));
    expect(k).toBe(kind);
    expect(m).toContain(msg);
  });

  it('driver and options: Docker’s rules and messages', async () => {
    expect(await failure(vols.create(ctx, { name: 'v1', driver: 'nfsplugin' }))).toEqual([
      'NotFound',
      'error looking up volume plugin nfsplugin: plugin "nfsplugin" not found',
    ]);
    expect(await failure(vols.create(ctx, { name: 'v1', options: { foo: 'bar' } }))).toEqual(['InvalidArgument', 'invalid option: "foo"']);
    expect(await failure(vols.create(ctx, { name: 'v1', options: { type: 'tmpfs' } }))).toEqual(['InvalidArgument', 'missing required option: "device"']);
    expect(await failure(vols.create(ctx, { name: 'v1', options: { size: '10m' } }))).toEqual(['InvalidArgument', 'quota size requested but no quota support']);
    expect(await vols.list(ctx)).toEqual([]);
    // A mounted volume is only mounted when a container using it starts, not at create.
    expect((await vols.create(ctx, { name: 'tmp', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } })).options).toEqual({
      type: 'tmpfs',
      device: 'tmpfs',
      o: 'size=1m',
    });
  });

  it('ls filters: dangling, name (a regular expression), label, driver; unknown filters are refused', async () => {
    await vols.create(ctx, { name: 'web-data', labels: { app: 'web' } });
    await vols.create(ctx, { name: 'db-data', labels: { app: 'db', tier: 'x' } });
    await vols.use(ctx, 'c1', [{ name: 'db-data' }]);
    const names = async (f: Record<string, string[]>) => (await vols.list(ctx, f)).map((v) => v.name);
    expect(await names({})).toEqual(['db-data', 'web-data']);
    expect(await names({ dangling: ['true'] })).toEqual(['web-data']);
    expect(await names({ dangling: ['false'] })).toEqual(['db-data']);
    expect(await names({ name: ['^web'] })).toEqual(['web-data']);
    expect(await names({ label: ['app=db'] })).toEqual(['db-data']);
    expect(await names({ label: ['tier'] })).toEqual(['db-data']);
    expect(await names({ driver: ['local'] })).toEqual(['db-data', 'web-data']);
    expect(await failure(vols.list(ctx, { color: ['x'] }))).toEqual(['InvalidArgument', "invalid filter 'color'"]);
    expect(await failure(vols.list(ctx, { dangling: ['maybe'] }))).toEqual(['InvalidArgument', "invalid filter 'dangling=maybe'"]);
  });

  it('volumes are per namespace, and a namespace holding one cannot be deleted', async () => {
    await vols.create(ctx, { name: 'data' });
    expect(await vols.list(background('other'))).toEqual([]);
    const [k, m] = await failure(new LevelNamespaceStore(db).delete(ctx, 'default'));
    expect(k).toBe('FailedPrecondition');
    expect(m).toContain('volumes');
  });
});

describe('volumes: users, rm and prune', () => {
  it('a volume in use cannot be removed (Docker’s message), also after a berthd restart', async () => {
    const [v] = await vols.use(ctx, 'c1', [{ name: 'data' }]);
    expect(v).toMatchObject({ name: 'data', created: true, users: ['c1'] });
    await vols.use(ctx, 'c2', [{ name: 'data' }]);
    expect(await failure(vols.remove(ctx, 'data'))).toEqual(['Conflict', 'remove data: volume is in use - [c1, c2]']);
    await reopen();
    expect((await vols.inspect(ctx, 'data')).users).toEqual(['c1', 'c2']);
    expect(await failure(vols.remove(ctx, 'data', { force: true }))).toEqual(['Conflict', 'remove data: volume is in use - [c1, c2]']);
    await vols.release(ctx, 'c1');
    expect((await failure(vols.remove(ctx, 'data')))[0]).toBe('Conflict');
    await vols.release(ctx, 'c2');
    await vols.remove(ctx, 'data');
    expect(existsSync(join(dir, 'volumes', 'default', 'data'))).toBe(false);
    expect(await failure(vols.inspect(ctx, 'data'))).toEqual(['NotFound', 'get data: no such volume']);
    expect(await failure(vols.remove(ctx, 'data'))).toEqual(['NotFound', 'get data: no such volume']);
    await vols.remove(ctx, 'data', { force: true }); // force: a missing volume is fine
  });

  it('content survives the container’s removal and a reopen; a named volume outlives rm -v', async () => {
    const [v] = await vols.use(ctx, 'c1', [{ name: 'keep' }]);
    await writeFile(join(v!.mountpoint, 'state'), 'v1');
    expect(await vols.release(ctx, 'c1', { removeAnonymous: true })).toEqual([]);
    await reopen();
    const back = await vols.inspect(ctx, 'keep');
    expect(back.users).toEqual([]);
    expect(await readFile(join(back.mountpoint, 'state'), 'utf8')).toBe('v1');
  });

  it('rm -v removes the container’s anonymous volumes unless another container still uses them', async () => {
    const [anon, named] = await vols.use(ctx, 'c1', [{}, { name: 'named' }]);
    const [anon2] = await vols.use(ctx, 'c1b', [{}]);
    await vols.use(ctx, 'c2', [{ name: anon2!.name }]); // --volumes-from c1b
    expect(await vols.release(ctx, 'c1', { removeAnonymous: true })).toEqual([anon!.name]);
    expect(await vols.release(ctx, 'c1b', { removeAnonymous: true })).toEqual([]);
    expect((await vols.list(ctx)).map((v) => v.name).sort()).toEqual([anon2!.name, named!.name].sort());
    expect(await vols.release(ctx, 'c2', { removeAnonymous: true })).toEqual([anon2!.name]);
  });

  it('prune removes exactly the unused anonymous volumes; --all the unused named ones too; label filters', async () => {
    const [usedAnon] = await vols.use(ctx, 'c1', [{}, { name: 'used-named' }]);
    const unusedAnon = await vols.create(ctx, {});
    await vols.create(ctx, { name: 'unused-named', labels: { keep: 'yes' } });
    await vols.create(ctx, { name: 'unused-other' });
    await writeFile(join(unusedAnon.mountpoint, 'blob'), Buffer.alloc(64 * 1024, 1));

    const r1 = await vols.prune(ctx);
    expect(r1.volumesDeleted).toEqual([unusedAnon.name]);
    expect(r1.spaceReclaimed).toBeGreaterThanOrEqual(64 * 1024);

    expect((await vols.prune(ctx, { filters: { all: ['true'], 'label!': ['keep=yes'] } })).volumesDeleted).toEqual(['unused-other']);
    expect((await vols.prune(ctx, { all: true, filters: { label: ['keep'] } })).volumesDeleted).toEqual(['unused-named']);
    expect((await vols.prune(ctx, { all: true })).volumesDeleted).toEqual([]);
    expect((await vols.list(ctx)).map((v) => v.name).sort()).toEqual([usedAnon!.name, 'used-named'].sort());
    expect(await failure(vols.prune(ctx, { filters: { dangling: ['true'] } }))).toEqual(['InvalidArgument', "invalid filter 'dangling'"]);
  });

  it('use is all or nothing: a request that fails leaves no user, no volume and no directory behind', async () => {
    await vols.create(ctx, { name: 'exists' });
    await vols.create(ctx, { name: 'going' });
    await db.update(async (tx) => {
      const r = await tx.get<Record<string, unknown>>(keys.volume('default', 'going'));
      tx.put(keys.volume('default', 'going'), { ...r, state: 'removing' });
    });
    expect(await failure(vols.use(ctx, 'c1', [{ name: 'exists' }, { name: 'new-one' }, { name: 'going' }]))).toEqual([
      'Conflict',
      'volume going is being removed',
    ]);
    expect(await failure(vols.use(ctx, 'c1', [{ name: 'new-two' }, { name: 'x' }]))).toEqual([
      'InvalidArgument',
      'volume name is too short, names should be at least two alphanumeric characters',
    ]);
    expect((await vols.list(ctx)).map((v) => [v.name, v.users])).toEqual([['exists', []]]);
    expect((await readdir(join(dir, 'volumes', 'default'))).sort()).toEqual(['exists', 'going']);
  });
});

describe('volumes: recovery', () => {
  it('a removal interrupted after its decision is finished at open; a directory without a record goes if empty, stays if not', async () => {
    await vols.create(ctx, { name: 'half' });
    // A crash right after the removal was decided: the record says removing, the dir is still there.
    await db.update(async (tx) => {
      const r = await tx.get<Record<string, unknown>>(keys.volume('default', 'half'));
      tx.put(keys.volume('default', 'half'), { ...r, state: 'removing' });
    });
    // A crash between a create's mkdir and its record; and a stray dir someone put data in.
    await mkdir(join(dir, 'volumes', 'default', 'orphan', '_data'), { recursive: true });
    await mkdir(join(dir, 'volumes', 'default', 'stray', '_data'), { recursive: true });
    await writeFile(join(dir, 'volumes', 'default', 'stray', '_data', 'precious'), 'x');
    await reopen();
    expect(await vols.list(ctx)).toEqual([]);
    expect((await readdir(join(dir, 'volumes', 'default'))).sort()).toEqual(['stray']);
  });

  it('a volume being removed can be neither used nor created again until it is gone', async () => {
    await vols.create(ctx, { name: 'going' });
    await db.update(async (tx) => {
      const r = await tx.get<Record<string, unknown>>(keys.volume('default', 'going'));
      tx.put(keys.volume('default', 'going'), { ...r, state: 'removing' });
    });
    expect(await failure(vols.use(ctx, 'c1', [{ name: 'going' }]))).toEqual(['Conflict', 'volume going is being removed']);
    expect((await failure(vols.create(ctx, { name: 'going' })))[0]).toBe('Conflict');
    expect((await failure(vols.inspect(ctx, 'going')))[0]).toBe('NotFound');
  });
});
