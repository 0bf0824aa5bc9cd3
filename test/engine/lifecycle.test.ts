/**
 * The engine's state machine through its API against a real berthd stack: names and lookups,
 * create/start/wait/stop/kill/pause/restart/rename/rm, their errors, events, and create failing
 * without leaving anything behind.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineEvent } from '../../src/engine';
import { SNAPSHOTTERS } from '../../src/daemon/slices/snapshotters';
import { CONTAINERS, TASKS } from '../../src/daemon/slices/tasks';
import { EngineFixture, until } from '../helpers/engine';
import { itRoot } from './it-root';

const f = new EngineFixture('englife');
beforeAll(async () => {
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 60_000);

const IMG = 'busybox';

async function logText(id: string): Promise<string> {
  let s = '';
  for await (const e of f.engine.logs(f.ctx, id)) s += e.data.toString();
  return s;
}

describe('engine: names and lookups', () => {
  itRoot('generates adjective_noun names, 64-hex ids; finds by name, /name, short prefix', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, cmd: ['true'] });
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    expect(c.name).toMatch(/^[a-z]+_[a-z]+\d?$/);
    expect(c.state.status).toBe('created');
    expect((await f.engine.inspect(f.ctx, c.name)).id).toBe(c.id);
    expect((await f.engine.inspect(f.ctx, `/${c.name}`)).id).toBe(c.id);
    expect((await f.engine.inspect(f.ctx, c.id.slice(0, 12))).id).toBe(c.id);
    expect(c.config.hostname).toBe(c.id.slice(0, 12));
    await f.engine.remove(f.ctx, c.id);
    await expect(f.engine.inspect(f.ctx, c.id)).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringContaining('No such container') });
  });

  itRoot('a name in use is Conflict, a bad name InvalidArgument, an ambiguous prefix InvalidArgument', async () => {
    await f.engine.create(f.ctx, { image: IMG, name: 'web', cmd: ['true'] });
    await expect(f.engine.create(f.ctx, { image: IMG, name: 'web', cmd: ['true'] })).rejects.toMatchObject({
      kind: 'Conflict',
      message: expect.stringContaining('"/web" is already in use'),
    });
    await expect(f.engine.create(f.ctx, { image: IMG, name: '-bad', cmd: ['true'] })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(f.engine.create(f.ctx, { image: IMG, name: 'a', cmd: ['true'] })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    const many = await Promise.all(Array.from({ length: 20 }, () => f.engine.create(f.ctx, { image: IMG, cmd: ['true'] })));
    const byFirst = new Map<string, number>();
    for (const c of many) byFirst.set(c.id[0]!, (byFirst.get(c.id[0]!) ?? 0) + 1);
    const shared = [...byFirst].find(([, n]) => n > 1)![0];
    await expect(f.engine.inspect(f.ctx, shared)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('multiple') });
    for (const c of [...many, { id: 'web' }]) await f.engine.remove(f.ctx, c.id);
    expect((await f.engine.list(f.ctx, { all: true })).length).toBe(0);
  });

  itRoot('a failed create leaves nothing: no record, container, snapshot or directory', async () => {
    const sn = f.part(SNAPSHOTTERS).get('overlayfs')!;
    const snapshotsBefore: string[] = [];
    for await (const s of sn.walk(f.ctx)) snapshotsBefore.push(s.name);
    await expect(f.engine.create(f.ctx, { image: IMG, name: 'nouser', user: 'nosuchuser', cmd: ['true'] })).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('unable to find user nosuchuser'),
    });
    await expect(f.engine.create(f.ctx, { image: 'nosuchimage', name: 'noimage' })).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringContaining('No such image'),
    });
    await expect(f.engine.create(f.ctx, { image: IMG, name: 'badmem', memory: '1k', cmd: ['true'] })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    // The names are free again, nothing was made.
    const c = await f.engine.create(f.ctx, { image: IMG, name: 'nouser', cmd: ['true'] });
    await f.engine.remove(f.ctx, c.id);
    const snapshotsAfter: string[] = [];
    for await (const s of sn.walk(f.ctx)) snapshotsAfter.push(s.name);
    expect(snapshotsAfter.sort()).toEqual(snapshotsBefore.sort());
    expect(await readdir(join(f.dirs.root, 'engine', f.ns)).catch(() => [])).toEqual([]);
    const containers = f.part(CONTAINERS);
    expect(await containers.list(f.ctx)).toEqual([]);
  });
});

describe('engine: lifecycle', () => {
  itRoot('create → start → exit: wait returns the code, the log has the output, ps -a shows Exited', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, name: 'hello', cmd: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'] });
    await f.engine.start(f.ctx, 'hello');
    expect(await f.engine.wait(f.ctx, 'hello')).toEqual({ exitCode: 3 });
    const i = await f.engine.inspect(f.ctx, c.id);
    expect(i.state).toMatchObject({ status: 'exited', exitCode: 3, pid: 0 });
    expect(i.state.finishedAt!.getTime()).toBeGreaterThanOrEqual(i.state.startedAt!.getTime());
    const stdout: string[] = [];
    for await (const e of f.engine.logs(f.ctx, c.id)) stdout.push(`${e.stream}:${e.data.toString()}`);
    expect(stdout.sort()).toEqual(['stderr:oops\n', 'stdout:hello\n']);
    expect(await f.engine.list(f.ctx)).toEqual([]);
    const [row] = await f.engine.list(f.ctx, { all: true });
    expect(row).toMatchObject({ names: ['/hello'], status: 'exited', image: 'busybox', command: 'sh -c echo hello; echo oops >&2; exit 3' });
    expect(row!.statusText).toMatch(/^Exited \(3\) .* ago$/);
    // A stopped container starts again; its log grows.
    await f.engine.start(f.ctx, 'hello');
    await f.engine.wait(f.ctx, 'hello');
    expect((await logText(c.id)).match(/hello/g)).toHaveLength(2);
    // The task is gone after the exit (ctr task ls would be empty).
    expect(() => f.part(TASKS).get(f.ctx, c.id)).toThrow();
    await f.engine.remove(f.ctx, 'hello');
  });

  itRoot('stop escalates to SIGKILL after -t for a process that ignores SIGTERM; events say kill, die, stop', async () => {
    const ac = new AbortController();
    const events: EngineEvent[] = [];
    const sub = (async () => {
      for await (const e of f.engine.events({ ...f.ctx, signal: ac.signal })) events.push(e);
    })();
    await f.engine.create(f.ctx, { image: IMG, name: 'stubborn', cmd: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'] });
    await f.engine.start(f.ctx, 'stubborn');
    await until('ready', async () => (await logText('stubborn')).includes('ready'));
    const t0 = Date.now();
    await f.engine.stop(f.ctx, 'stubborn', { timeout: 1 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8000);
    expect((await f.engine.inspect(f.ctx, 'stubborn')).state).toMatchObject({ status: 'exited', exitCode: 137 });
    await until('stop event', () => events.some((e) => e.action === 'stop'));
    expect(
      events
        .filter((e) => e.name === 'stubborn')
        .map((e) => `${e.action}${e.attributes.signal ? `:${e.attributes.signal}` : ''}${e.attributes.exitCode ? `:${e.attributes.exitCode}` : ''}`),
    ).toEqual(['create', 'start', 'kill:15', 'kill:9', 'die:137', 'stop']);
    ac.abort();
    await sub;
    await f.engine.remove(f.ctx, 'stubborn');
  });

  itRoot('stop uses the image StopSignal; kill -s; errors for containers that are not running', async () => {
    await f.engine.create(f.ctx, {
      image: IMG,
      name: 'sig',
      stopSignal: 'SIGUSR1',
      cmd: ['sh', '-c', 'trap "exit 42" USR1; trap "exit 43" HUP; echo ready; while :; do sleep 0.1; done'],
    });
    await f.engine.start(f.ctx, 'sig');
    await until('ready', async () => (await logText('sig')).includes('ready'));
    await f.engine.stop(f.ctx, 'sig');
    expect((await f.engine.inspect(f.ctx, 'sig')).state.exitCode).toBe(42);
    await f.engine.start(f.ctx, 'sig');
    await until('ready again', async () => ((await logText('sig')).match(/ready/g) ?? []).length === 2);
    await f.engine.kill(f.ctx, 'sig', 'HUP');
    expect(await f.engine.wait(f.ctx, 'sig')).toEqual({ exitCode: 43 });
    await expect(f.engine.kill(f.ctx, 'sig')).rejects.toMatchObject({ kind: 'Conflict', message: expect.stringContaining('is not running') });
    await expect(f.engine.pause(f.ctx, 'sig')).rejects.toMatchObject({ kind: 'Conflict' });
    await expect(f.engine.kill(f.ctx, 'nosuch')).rejects.toMatchObject({ kind: 'NotFound' });
    await f.engine.stop(f.ctx, 'sig'); // stopped already: nothing to do, no error (Docker's 304)
    await f.engine.remove(f.ctx, 'sig');
  });

  itRoot('pause/unpause, restart, rename, rm of a running container needs force', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, name: 'svc', cmd: ['sh', '-c', 'echo started; while :; do sleep 0.1; done'] });
    await f.engine.start(f.ctx, 'svc');
    await f.engine.pause(f.ctx, 'svc');
    expect((await f.engine.inspect(f.ctx, 'svc')).state.status).toBe('paused');
    await expect(f.engine.pause(f.ctx, 'svc')).rejects.toMatchObject({ kind: 'Conflict', message: expect.stringContaining('already paused') });
    await expect(f.engine.start(f.ctx, 'svc')).rejects.toMatchObject({ kind: 'Conflict' });
    await f.engine.unpause(f.ctx, 'svc');
    expect((await f.engine.inspect(f.ctx, 'svc')).state.status).toBe('running');
    const pid1 = (await f.engine.inspect(f.ctx, 'svc')).state.pid;
    await f.engine.restart(f.ctx, 'svc', { timeout: 1 });
    const after = await f.engine.inspect(f.ctx, 'svc');
    expect(after.state.status).toBe('running');
    expect(after.state.pid).not.toBe(pid1);
    await f.engine.create(f.ctx, { image: IMG, name: 'other', cmd: ['true'] });
    await expect(f.engine.rename(f.ctx, 'svc', 'other')).rejects.toMatchObject({ kind: 'Conflict' });
    await f.engine.rename(f.ctx, 'svc', 'svc2');
    expect((await f.engine.inspect(f.ctx, 'svc2')).id).toBe(c.id);
    await expect(f.engine.inspect(f.ctx, 'svc')).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(f.engine.remove(f.ctx, 'svc2')).rejects.toMatchObject({ kind: 'Conflict', message: expect.stringContaining('container is running') });
    await f.engine.remove(f.ctx, 'svc2', { force: true });
    await f.engine.remove(f.ctx, 'other');
    await expect(f.engine.inspect(f.ctx, c.id)).rejects.toMatchObject({ kind: 'NotFound' });
    expect(f.leaks()).toEqual([]);
  });

  itRoot('--rm: the container goes once it exits; wait removed resolves', async () => {
    const c = await f.engine.create(f.ctx, { image: IMG, cmd: ['sh', '-c', 'exit 5'], autoRemove: true });
    const removed = f.engine.wait(f.ctx, c.id, 'removed');
    await f.engine.start(f.ctx, c.id);
    await removed;
    await expect(f.engine.inspect(f.ctx, c.id)).rejects.toMatchObject({ kind: 'NotFound' });
  });

  itRoot('a start that fails keeps the container created, with the error and 127', async () => {
    await f.engine.create(f.ctx, { image: IMG, name: 'nocmd', cmd: ['/no/such/binary'] });
    await expect(f.engine.start(f.ctx, 'nocmd')).rejects.toThrow(/no such file|not found/i);
    const i = await f.engine.inspect(f.ctx, 'nocmd');
    expect(i.state).toMatchObject({ status: 'created', exitCode: 127 });
    expect(i.state.error).toMatch(/no such file|not found/i);
    await f.engine.remove(f.ctx, 'nocmd');
  });
});
