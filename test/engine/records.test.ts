/**
 * The engine's records in the metadata DB: what reads back is what the schema makes of the stored
 * text, whoever wrote it; text this berthd wrote reads back without the schema (record.ts
 * RecordJson), and any other text is checked again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { background } from '../../src/core/context';
import { errorKind } from '../../src/core/errors';
import { fromStored, toStored, type EngineRecord } from '../../src/engine/record';
import { Records } from '../../src/engine/records';
import { MetadataDB } from '../../src/metadata/db';
import { keys } from '../../src/metadata/schema';

const ctx = background('recs');
const ID = 'ab'.repeat(32);

function record(over: Partial<EngineRecord> = {}): EngineRecord {
  return {
    version: 1,
    phase: 'ready',
    namespace: 'recs',
    id: ID,
    name: 'happy_turing',
    created: new Date('2026-12-07T10:00:00.123Z'),
    imageId: `sha256:${'c'.repeat(64)}`,
    config: {
      hostname: 'abababababab',
      domainname: '',
      user: '',
      env: ['PATH=/bin'],
      cmd: ['true'],
      entrypoint: [],
      workingDir: '',
      labels: { a: 'b' },
      tty: false,
      openStdin: false,
      stdinOnce: false,
      exposedPorts: [],
      volumes: [],
      stopSignal: 'SIGTERM',
      image: 'busybox',
    },
    hostConfig: {
      init: false,
      privileged: false,
      readonlyRootfs: false,
      capAdd: [],
      capDrop: [],
      memory: 0,
      nanoCpus: 0,
      pidsLimit: 0,
      networkMode: 'none',
      portBindings: [],
      publishAllPorts: false,
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      extraHosts: [],
      shmSize: 64 << 20,
      logConfig: { maxSize: 0, maxFile: 1 },
      autoRemove: true,
      securityOpt: [],
      restartPolicy: { name: 'no', maximumRetryCount: 0 },
      binds: [],
      mounts: [],
      tmpfs: [],
      volumesFrom: [],
    },
    state: { status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false, restartCount: 0, manuallyStopped: false },
    path: 'true',
    args: [],
    logPath: '/x/log',
    hostnamePath: '/x/hostname',
    hostsPath: '/x/hosts',
    resolvConfPath: '/x/resolv.conf',
    snapshotter: 'overlayfs',
    snapshotKey: ID,
    network: { version: 1, mode: 'none', endpoints: [], ports: [], dns: { servers: [], search: [], options: [] }, extraHosts: [] },
    mounts: [],
    ...over,
  } as EngineRecord;
}

let dir: string;
let db: MetadataDB;
let recs: Records;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-records-'));
  db = await MetadataDB.open(join(dir, 'meta'));
  recs = new Records(db, join(dir, 'engine'));
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const storedText = () => db.view((tx) => tx.get(keys.engineContainer(ctx.ns, ID), (json) => json));
/** What the schema makes of the text stored now. */
const bySchema = async () => fromStored(JSON.parse((await storedText())!));
/** Another writer (another berthd version, a repair) puts this text. */
const putText = (json: string) => db.update(async (tx) => tx.putJson(keys.engineContainer(ctx.ns, ID), json));

describe('engine records', () => {
  it('reads back what the schema makes of the stored text, as copies of their own', async () => {
    await recs.create(ctx, record());
    const a = await recs.get(ctx, ID);
    expect(isDeepStrictEqual(a, await bySchema())).toBe(true);
    expect(a!.created).toBeInstanceOf(Date);
    const startedAt = new Date('2026-12-07T10:00:01.5Z');
    const u = await recs.update(ctx, ID, (x) => void (x.state = { ...x.state, status: 'running', pid: 42, startedAt }));
    const b = await recs.get(ctx, ID);
    expect(isDeepStrictEqual(b, await bySchema())).toBe(true);
    expect(isDeepStrictEqual(b, u)).toBe(true);
    expect(b!.state.startedAt).toEqual(startedAt);
    expect('finishedAt' in b!.state).toBe(false);
    // Changing what a read handed out changes nothing stored, nor the next read.
    b!.config.env.push('X=1');
    b!.state.status = 'dead';
    const c = await recs.get(ctx, ID);
    expect(c!.config.env).toEqual(['PATH=/bin']);
    expect(c!.state.status).toBe('running');
    expect(await recs.list(ctx)).toEqual([c]);
  });

  it('checks text it did not write, every time it changes', async () => {
    await recs.create(ctx, record());
    await recs.get(ctx, ID);
    // Valid text from elsewhere, without the fields later versions default: read with the defaults.
    const legacy = JSON.parse((await storedText())!);
    delete legacy.mounts;
    delete legacy.network;
    delete legacy.hostConfig.portBindings;
    legacy.state.status = 'exited';
    await putText(JSON.stringify(legacy));
    const r = await recs.get(ctx, ID);
    expect(r!.state.status).toBe('exited');
    expect(r!.mounts).toEqual([]);
    expect(r!.hostConfig.portBindings).toEqual([]);
    expect(r!.network.mode).toBe('none');
    expect(isDeepStrictEqual(r, await bySchema())).toBe(true);
    // Damaged text is refused on every read and update, not served from what was read before.
    await putText(JSON.stringify({ ...legacy, id: 'not-hex' }));
    await expect(recs.get(ctx, ID)).rejects.toThrow();
    await expect(recs.update(ctx, ID, () => undefined)).rejects.toThrow();
    // The text this berthd wrote before, put back by someone else, reads as the schema reads it.
    const own = JSON.stringify(toStored(record({ name: 'other_name' })));
    await putText(own);
    expect((await recs.get(ctx, ID))!.name).toBe('other_name');
    // A record that no longer decodes can still be removed, and its name is released.
    await putText(JSON.stringify({ id: ID, name: 'happy_turing', phase: 'gone' }));
    await expect(recs.get(ctx, ID)).rejects.toThrow();
    await recs.delete(ctx, ID);
    expect(await recs.get(ctx, ID)).toBeUndefined();
    await recs.create(ctx, record());
  });

  it('moves the name when an update renames in place', async () => {
    await recs.create(ctx, record());
    await recs.update(ctx, ID, (x) => void (x.name = 'renamed'));
    expect((await recs.resolve(ctx, 'renamed')).id).toBe(ID);
    await expect(recs.resolve(ctx, 'happy_turing')).rejects.toThrow(/No such container/);
    await recs.create(ctx, record({ id: 'cd'.repeat(32), snapshotKey: 'cd'.repeat(32) }));
    expect(errorKind(await recs.update(ctx, 'cd'.repeat(32), (x) => void (x.name = 'renamed')).catch((e) => e))).toBe('Conflict');
  });
});
