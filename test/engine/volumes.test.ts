/**
 * Volumes through the engine on a real berthd stack: `-v NAME:/path` made on first use with the
 * image's content copied in, content that outlives the container and a berthd restart, a volume
 * in use refusing removal, the image's VOLUME as an anonymous volume that `rm -v` removes, prune
 * removing exactly the unused ones, `--volumes-from`, `--mount`, `--tmpfs`, and Docker's errors.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxEntries } from '../helpers/images';
import { EngineFixture } from '../helpers/engine';
import { failure } from '../helpers/errors';
import { itRoot } from './it-root';

const f = new EngineFixture('engvol');
const IMG = 'docker.io/library/withdata:latest';

beforeAll(async () => {
  await f.setup();
  await f.addImage({
    name: IMG,
    layers: [
      {
        entries: [
          ...busyboxEntries(),
          { path: 'data', type: 'dir', mode: 0o750, uid: 1, gid: 1 },
          { path: 'data/seed', type: 'file', content: 'from the image\n', uid: 1, gid: 1 },
        ],
      },
    ],
    config: { Cmd: ['sh'], Volumes: { '/data': {} } },
  });
}, 120_000);
afterAll(() => f.teardown(), 60_000);

/** create + start + wait: the output and the exit code. */
async function run(opts: Parameters<typeof f.engine.create>[1]): Promise<{ id: string; out: string; code: number }> {
  const c = await f.engine.create(f.ctx, opts);
  await f.engine.start(f.ctx, c.id);
  const { exitCode } = await f.engine.wait(f.ctx, c.id);
  let out = '';
  for await (const e of f.engine.logs(f.ctx, c.id)) out += e.data.toString();
  return { id: c.id, out, code: exitCode };
}

describe('engine: volumes', () => {
  itRoot('a named volume is made on first use with the image’s content, outlives rm and a berthd restart', async () => {
    const first = await run({ image: IMG, volumes: ['appdata:/data'], cmd: ['sh', '-c', 'cat /data/seed; stat -c "%u:%g %a" /data; echo kept > /data/state'] });
    expect(first).toMatchObject({ code: 0, out: 'from the image\n1:1 750\n' });
    const v = await f.engine.volumes.inspect(f.ctx, 'appdata');
    expect(v.users).toEqual([first.id]);
    expect((await f.engine.inspect(f.ctx, first.id)).mounts).toEqual([
      expect.objectContaining({ type: 'volume', source: 'appdata', target: '/data', readOnly: false }),
    ]);
    // In use (even stopped): Docker's refusal.
    expect(await failure(f.engine.volumes.remove(f.ctx, 'appdata'))).toEqual(['Conflict', `remove appdata: volume is in use - [${first.id}]`]);
    await f.engine.remove(f.ctx, first.id, { volumes: true }); // -v takes anonymous volumes only
    expect(await readFile(join(v.mountpoint, 'state'), 'utf8')).toBe('kept\n');

    await f.stop();
    await f.setup(f.dirs);
    const back = await f.engine.volumes.inspect(f.ctx, 'appdata');
    expect(back.users).toEqual([]);
    const second = await run({ image: IMG, volumes: ['appdata:/data'], cmd: ['cat', '/data/state'] });
    expect(second).toMatchObject({ code: 0, out: 'kept\n' });
    await f.engine.remove(f.ctx, second.id);
    await f.engine.volumes.remove(f.ctx, 'appdata');
    expect(existsSync(v.mountpoint)).toBe(false);
  });

  itRoot('the image’s VOLUME is an anonymous volume: rm -v removes it, rm keeps it for prune', async () => {
    const a = await run({ image: IMG, cmd: ['sh', '-c', 'cat /data/seed; echo x > /data/new'] });
    expect(a.out).toBe('from the image\n');
    const anon = (await f.engine.inspect(f.ctx, a.id)).mounts[0]!.source;
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect((await f.engine.volumes.inspect(f.ctx, anon)).anonymous).toBe(true);
    await f.engine.remove(f.ctx, a.id, { volumes: true });
    expect((await failure(f.engine.volumes.inspect(f.ctx, anon)))[0]).toBe('NotFound');

    const b = await run({ image: IMG, cmd: ['true'] });
    const kept = (await f.engine.inspect(f.ctx, b.id)).mounts[0]!.source;
    const named = await run({ image: IMG, volumes: ['named-one:/data'], cmd: ['true'] });
    await f.engine.remove(f.ctx, b.id);
    // Unused now: kept is anonymous, named-one is in use by `named`.
    expect((await f.engine.volumes.prune(f.ctx)).volumesDeleted).toEqual([kept]);
    expect((await f.engine.volumes.prune(f.ctx, { all: true })).volumesDeleted).toEqual([]);
    await f.engine.remove(f.ctx, named.id);
    expect((await f.engine.volumes.prune(f.ctx, { all: true })).volumesDeleted).toEqual(['named-one']);
  });

  itRoot('--volumes-from, --mount (bind and volume), --tmpfs, read-only volumes', async () => {
    const host = join(f.work, 'hostdir');
    const w = await run({ image: IMG, volumes: ['shared:/data', `${host}:/host`], cmd: ['sh', '-c', 'echo one > /data/from-w; echo h > /host/h'] });
    expect(w.code).toBe(0);
    expect(await readFile(join(host, 'h'), 'utf8')).toBe('h\n'); // -v made the missing host directory, as Docker does
    const r = await run({
      image: IMG,
      volumesFrom: [`${w.id}:ro`],
      tmpfs: ['/scratch:size=1m'],
      mounts: [`type=bind,src=${host},dst=/again,readonly`],
      cmd: ['sh', '-c', 'cat /data/from-w /again/h; grep -c " /scratch tmpfs" /proc/mounts; touch /data/no 2>&1 | grep -c Read-only'],
    });
    expect(r).toMatchObject({ code: 0, out: 'one\nh\n1\n1\n' });
    expect(await failure(f.engine.create(f.ctx, { image: IMG, mounts: [`type=bind,src=${join(f.work, 'missing')},dst=/x`], cmd: ['true'] }))).toEqual([
      'InvalidArgument',
      `invalid mount config for type "bind": bind source path does not exist: ${join(f.work, 'missing')}`,
    ]);
    expect((await failure(f.engine.create(f.ctx, { image: IMG, volumes: ['a:/x', 'b:/x'], cmd: ['true'] })))[1]).toBe('Duplicate mount point: /x');
    expect((await failure(f.engine.create(f.ctx, { image: IMG, volumesFrom: ['nosuch'], cmd: ['true'] })))[0]).toBe('NotFound');
    for (const id of [w.id, r.id]) await f.engine.remove(f.ctx, id);
    await f.engine.volumes.remove(f.ctx, 'shared');
    await rm(host, { recursive: true });
    // The failed creates left no volume behind.
    expect((await f.engine.volumes.list(f.ctx)).map((v) => v.name)).toEqual([]);
  });
});
