/** Task records: temp + rename (no fsync: runtime state), readable back, never half written. */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import {
  createBundle,
  discardBundle,
  emptyTrash,
  readExecRecords,
  readTaskRecord,
  TaskPaths,
  writeExecRecord,
  writeTaskRecord,
  type TaskRecord,
} from '../../src/tasks/bundle';

const record = (pid: number): Omit<TaskRecord, 'version'> => ({
  namespace: 'ns',
  containerId: 'c1',
  runtime: 'io.containerd.runc.v2',
  pid,
  io: { stdin: '', stdout: '/tmp/out', stderr: '', terminal: false },
  stateDir: '/run/berth/tasks/ns/c1',
  namespaces: [{ type: 'pid' }],
});

describe('task bundle records', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-bundle-test-'));
    await createBundle(dir, '{"ociVersion":"1.0.2"}');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes task.json 0600 by rename, replacing the previous record whole, and leaves no temp file', async () => {
    await writeTaskRecord(dir, record(10));
    await writeTaskRecord(dir, record(11));
    expect(await readTaskRecord(dir)).toEqual({ version: 1, ...record(11) });
    expect((await stat(join(dir, 'task.json'))).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('exec records round-trip the same way', async () => {
    await writeExecRecord(dir, { execId: 'e1', pid: 5, io: record(1).io, stateDir: join(dir, 'e', 'e1') });
    expect(await readExecRecords(dir)).toEqual([{ version: 1, execId: 'e1', pid: 5, io: record(1).io, stateDir: join(dir, 'e', 'e1') }]);
    expect((await readdir(join(dir, 'execs'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a missing record reads as undefined', async () => {
    expect(await readTaskRecord(join(dir, 'nope'))).toBeUndefined();
  });
});

describe('deleted bundles', () => {
  let state: string;
  beforeEach(async () => {
    state = await mkdtemp(join(tmpdir(), 'berth-bundle-trash-'));
  });
  afterEach(() => rm(state, { recursive: true, force: true }));

  it('leave the tasks tree with one rename, are deleted in the background, and what a crash left in .trash goes at restore', async () => {
    const paths = new TaskPaths(state);
    const bundle = paths.bundle('ns', 'c1');
    await createBundle(bundle, '{}');
    await writeTaskRecord(bundle, record(10));
    const outside = join(state, 'elsewhere');
    await mkdir(outside);
    await discardBundle(paths, bundle, [bundle, outside]);
    expect(existsSync(bundle)).toBe(false);
    expect(existsSync(outside)).toBe(false);
    expect(await readdir(join(paths.tasksRoot, 'ns'))).toEqual([]);
    for (let i = 0; i < 100 && (await readdir(paths.trash)).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(paths.trash)).toEqual([]);

    await mkdir(join(paths.trash, 'c2-1.1', 'rootfs'), { recursive: true });
    await emptyTrash(paths);
    expect(await readdir(paths.trash)).toEqual([]);
    // A bundle that is already gone is not an error.
    await expect(discardBundle(paths, bundle, [bundle])).resolves.toBeUndefined();
  });
});

describe('monitor state dirs', () => {
  // sockaddr_un's sun_path holds 108 bytes with the NUL; the helper binds <state dir>/monitor.sock.
  const fits = (dir: string) => Buffer.byteLength(`${dir}/monitor.sock`) < 108;

  it('keep the control socket path within sun_path whatever the bundle path length', () => {
    const paths = new TaskPaths('/run/berth');
    for (let len = 60; len <= 130; len++) {
      const id = 'c'.repeat(len - '/run/berth/tasks/ns/'.length);
      expect(paths.bundle('ns', id)).toHaveLength(len);
      expect(fits(paths.initStateDir('ns', id))).toBe(true);
      expect(fits(paths.execStateDir('ns', id, 'exec-1'))).toBe(true);
    }
  });
});
