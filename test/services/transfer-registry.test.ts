/**
 * The Transfer service against Debian's docker-registry on loopback, through the client library
 * only (`client.transfer`): pull with progress read as an async iterator, push, credentials
 * asked through the auth stream, and the errors a caller sees. containerd 1.6's ctr cannot be the
 * client here: 1.6 has no Transfer service (it came with containerd 2.0), so ctr 1.6 never calls it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type CredentialsRequest, type Progress } from '../../src/client';
import { run } from '../helpers/ctr';
import { startInProcess } from '../helpers/daemon';
import { busyboxImage } from '../helpers/images';
import { type BuiltImage, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, writeHtpasswd, type Registry } from '../helpers/registry';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo', 'htpasswd')];
const itReg = itWith(...NEEDS);

describe('Transfer service with a registry, through the client library', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let reg: Registry;
  let authReg: Registry;
  let work: string;
  let bb: BuiltImage;
  let ref: string;
  let client: Client;
  let n = 0;
  const ns = () => client.withNamespace(`xreg${++n}`);

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    d = await startInProcess({ logLevel: 'error' });
    client = new Client({ address: d.dirs.address });
    work = await mkdtemp(join(tmpdir(), 'berth-xfer-reg-'));
    reg = await startRegistry();
    await writeHtpasswd(join(work, 'htpasswd'), { bob: 'pw' });
    authReg = await startRegistry({ auth: { htpasswd: join(work, 'htpasswd') } });
    bb = await writeOciImage(join(work, 'layout'), busyboxImage('xreg/busybox:1'));
    ref = await pushImage(reg, join(work, 'layout'), bb.refName, 'xreg/busybox:1');
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await reg?.stop();
    await authReg?.stop();
    await d?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  itReg(
    'pull: progress as an async iterator ends with saved; the image is stored and unpacked',
    async () => {
      const c = ns();
      const op = c.transfer.pull(ref);
      const events: Progress[] = [];
      for await (const p of op) events.push(p);
      const saved = await op;
      expect(saved).toEqual({ name: ref, digest: bb.manifest.digest, mediaType: bb.manifest.mediaType });
      const layer = bb.layers[0]!.digest;
      const forLayer = events.filter((e) => e.name === layer || e.desc?.digest === layer).map((e) => e.event);
      expect(forLayer).toEqual(expect.arrayContaining(['complete', 'unpacked']));
      expect(events[0]!.event).toBe('resolving');
      expect(events[events.length - 1]).toMatchObject({ event: 'saved', name: ref });
      const img = await c.images.get({ name: ref });
      expect(img.image?.target?.digest).toBe(bb.manifest.digest);
    },
    60_000,
  );

  itReg(
    'push to another repository, then skopeo inspect of the pushed manifest',
    async () => {
      const c = ns();
      await c.transfer.pull(ref);
      const target = `${reg.host}/xreg/pushed:9`;
      await c.transfer.tag(ref, target);
      const events: Progress[] = [];
      await c.transfer.push(target, target, { onProgress: (p) => events.push(p) });
      expect(events.some((e) => e.event === 'pushed' || e.event === 'mounted' || e.event === 'complete')).toBe(true);
      const r = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${target}`]);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ Digest: bb.manifest.digest, Layers: bb.layers.map((l) => l.digest) });
    },
    60_000,
  );

  itReg(
    'credentials come through the auth stream from the callback; a wrong password is PermissionDenied; no callback is anonymous',
    async () => {
      const c = ns();
      await c.transfer.pull(ref);
      const target = `${authReg.host}/xreg/private:1`;
      await c.transfer.tag(ref, target);
      const asked: CredentialsRequest[] = [];
      await c.transfer.push(target, target, { credentials: (q) => (asked.push(q), { username: 'bob', password: 'pw' }) });
      expect(asked[0]).toMatchObject({ host: authReg.host, challenges: [expect.stringMatching(/^Basic /)] });
      const other = ns();
      await expect(other.transfer.pull(target, { credentials: () => ({ username: 'bob', password: 'nope' }) })).rejects.toMatchObject({
        kind: 'PermissionDenied',
      });
      await expect(other.transfer.pull(target)).rejects.toMatchObject({ kind: 'PermissionDenied' });
      await expect(other.images.get({ name: target })).rejects.toMatchObject({ kind: 'NotFound' });
      expect(await other.transfer.pull(target, { credentials: () => ({ username: 'bob', password: 'pw' }) })).toMatchObject({ digest: bb.manifest.digest });
    },
    60_000,
  );

  itReg(
    'an unknown repository or tag is NotFound, and leaves no image',
    async () => {
      const c = ns();
      await expect(c.transfer.pull(`${reg.host}/xreg/nothere:1`)).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(c.transfer.pull(`${reg.host}/xreg/busybox:nosuchtag`)).rejects.toMatchObject({ kind: 'NotFound' });
      expect((await c.images.list({})).images).toEqual([]);
    },
    60_000,
  );
});
