import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { call, rawClient, startInProcess } from '../helpers/daemon';
import { WriteSession } from '../content/write-session';
import { buildTar, itRoot, tc } from '../diff/util';

const DIFF = 'containerd.services.diff.v1.Diff';
const CONTENT = 'containerd.services.content.v1.Content';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

describe('Diff service over the socket', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let diff: grpc.Client;
  let content: grpc.Client;
  beforeAll(async () => {
    d = await startInProcess({ gc: { scheduleDelayMs: 3600_000 } });
    diff = rawClient(d.dirs.address, DIFF);
    content = rawClient(d.dirs.address, CONTENT);
  });
  afterAll(async () => {
    diff.close();
    content.close();
    await d.stop();
  });

  async function ingest(data: Buffer): Promise<string> {
    const dg = sha(data);
    const s = new WriteSession(content);
    const st = await s.send({ action: 'STAT', ref: `layer-${dg}`, total: data.length, expected: dg });
    const w = await s.send({ action: 'WRITE', ref: `layer-${dg}`, offset: st.offset, data });
    await s.send({ action: 'COMMIT', ref: `layer-${dg}`, offset: w.offset, total: data.length, expected: dg });
    await s.close();
    return dg;
  }

  const bind = (source: string) => [{ type: 'bind', source, target: '', options: ['rbind', 'rw'] }];

  itRoot('Apply: a gzip layer from the content store onto a bind mount; replies the uncompressed digest (diff_id)', async () => {
    const tar = await buildTar([tc.dir('etc'), tc.file('etc/hello', 'world'), tc.symlink('hello', 'etc/link'), { name: 'bin/tool', data: '#!', mode: 0o4755 }]);
    const gz = gzipSync(tar);
    const dg = await ingest(gz);
    const root = join(d.dirs.dir, 'snap-1');
    await mkdir(root);
    const res = await call(diff, 'Apply', { diff: { media_type: GZIP_LAYER, digest: dg, size: gz.length }, mounts: bind(root), payloads: {} });
    expect(res.applied).toMatchObject({ media_type: 'application/vnd.oci.image.layer.v1.tar', digest: sha(tar), size: String(tar.length) });
    expect(await readFile(join(root, 'etc/hello'), 'utf8')).toBe('world');
    expect(await readlink(join(root, 'etc/link'))).toBe('hello');
    expect((await lstat(join(root, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
  });

  itRoot('Apply: an uncompressed layer onto an overlay mount writes the upper dir', async () => {
    const tar = await buildTar([tc.file('a', '1'), tc.file('.wh.b', '')]);
    const dg = await ingest(tar);
    const base = join(d.dirs.dir, 'ovl');
    await Promise.all(['lower', 'upper', 'work'].map((x) => mkdir(join(base, x), { recursive: true })));
    const mounts = [{ type: 'overlay', source: 'overlay', target: '', options: [`workdir=${base}/work`, `upperdir=${base}/upper`, `lowerdir=${base}/lower`] }];
    const res = await call(diff, 'Apply', { diff: { media_type: 'application/vnd.oci.image.layer.v1.tar', digest: dg, size: tar.length }, mounts });
    expect(res.applied.digest).toBe(sha(tar));
    expect(await readFile(join(base, 'upper/a'), 'utf8')).toBe('1');
    expect((await lstat(join(base, 'upper/b'))).isCharacterDevice()).toBe(true);
  });

  itRoot(
    'Apply errors: hostile tar → INVALID_ARGUMENT, unknown blob → NOT_FOUND, bad gzip → INVALID_ARGUMENT, unknown media type → UNIMPLEMENTED, no namespace → FAILED_PRECONDITION',
    async () => {
      const root = join(d.dirs.dir, 'snap-err');
      await mkdir(root);
      const hostile = await buildTar([tc.file('.wh..', '')]);
      const hg = await ingest(gzipSync(hostile));
      await expect(call(diff, 'Apply', { diff: { media_type: GZIP_LAYER, digest: hg, size: 0 }, mounts: bind(root) })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      const missing = sha(Buffer.from('nope'));
      await expect(call(diff, 'Apply', { diff: { media_type: GZIP_LAYER, digest: missing, size: 4 }, mounts: bind(root) })).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
      });
      const badGz = Buffer.concat([gzipSync(hostile).subarray(0, 20), Buffer.alloc(100, 7)]);
      const bg = await ingest(badGz);
      await expect(call(diff, 'Apply', { diff: { media_type: GZIP_LAYER, digest: bg, size: badGz.length }, mounts: bind(root) })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      await expect(call(diff, 'Apply', { diff: { media_type: 'application/x-unknown', digest: hg, size: 1 }, mounts: bind(root) })).rejects.toMatchObject({
        code: grpc.status.UNIMPLEMENTED,
      });
      await expect(call(diff, 'Apply', { diff: { media_type: GZIP_LAYER, digest: hg, size: 1 }, mounts: [] })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      await expect(
        call(diff, 'Apply', { diff: { media_type: GZIP_LAYER, digest: hg, size: 1 }, mounts: bind(root) }, new grpc.Metadata()),
      ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
      // Diff/Diff: nothing to compare, and mounts it cannot read.
      await expect(call(diff, 'Diff', { left: [], right: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      await expect(call(diff, 'Diff', { left: [], right: [{ type: 'nfs', source: 'x:/y', target: '', options: [] }] })).rejects.toMatchObject({
        code: grpc.status.UNIMPLEMENTED,
      });
    },
  );
});
