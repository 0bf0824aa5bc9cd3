/**
 * The Transfer and Streaming services without a registry, through berth's client module and raw
 * calls against an in-process berthd: the stream handshake and its errors, flow control on an
 * import stream, import/export/tag round trips (no unpack: no root needed), and the clear
 * statuses for pairs and options berth does not handle.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { type AnyValue, codecOf, packAny, service } from '../../src/api';
import { Client, DOCKER_ARCHIVE, type Progress } from '../../src/client';
import { duplexCall, type Transport, unaryCall } from '../../src/client/rpc';
import { openStream, streamId } from '../../src/client/transfer/streams';
import { H2Channel } from '../../src/transport';
import { StreamManager } from '../../src/services/streaming/manager';
import { receiveBytes } from '../../src/services/streaming/bytes';
import { startInProcess } from '../helpers/daemon';
import { busyboxImage } from '../helpers/images';
import { type BuiltImage, writeDockerArchive, writeOciArchive, writeOciImage } from '../helpers/oci';

const STREAM = service('containerd.services.streaming.v1.Streaming').methods.Stream;
const TRANSFER = service('containerd.services.transfer.v1.Transfer').methods.Transfer;
const any = (type: string, msg: object) => packAny(`containerd.types.transfer.${type}`, msg);

describe('Transfer and Streaming services (no registry)', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let ch: H2Channel;
  let client: Client;
  let t: Transport;
  let work: string;
  let bb: BuiltImage;
  let ociTar: string;
  let n = 0;
  const ns = () => `xfer${++n}`;

  beforeAll(async () => {
    d = await startInProcess({ logLevel: 'error' });
    client = new Client({ address: d.dirs.address });
    ch = new H2Channel(d.dirs.address);
    t = { address: d.dirs.address, namespace: 'default', channel: () => ch };
    work = await mkdtemp(join(tmpdir(), 'berth-xfer-svc-'));
    bb = await writeOciImage(join(work, 'layout'), busyboxImage('docker.io/library/busybox:svc'));
    ociTar = join(work, 'bb.tar');
    await writeOciArchive(join(work, 'layout'), ociTar);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    ch?.close();
    await d?.stop();
    await rm(work, { recursive: true, force: true });
  });

  describe('Streaming/Stream', () => {
    const next = async (c: ReturnType<typeof duplexCall>) => (await c[Symbol.asyncIterator]().next()).value as unknown;
    it('acknowledges a StreamInit with an Any of google.protobuf.Empty', async () => {
      const s = duplexCall(t, STREAM);
      await s.send(packAny('containerd.services.streaming.v1.StreamInit', { id: 'ack-1' }));
      expect(await next(s)).toEqual({ type_url: 'google.protobuf.Empty', value: Buffer.alloc(0) });
      s.cancel();
    });

    it('refuses a first message that is no StreamInit, an empty id and a taken id (INVALID_ARGUMENT, ALREADY_EXISTS)', async () => {
      const bad = duplexCall(t, STREAM);
      await bad.send(any('Data', { data: Buffer.from('x') }));
      await expect(next(bad)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('StreamInit') });
      const empty = duplexCall(t, STREAM);
      await empty.send(packAny('containerd.services.streaming.v1.StreamInit', { id: '' }));
      await expect(next(empty)).rejects.toMatchObject({ kind: 'InvalidArgument', message: 'StreamInit.id: required' });
      const first = await openStream(t, 'taken-1');
      await expect(openStream(t, 'taken-1')).rejects.toMatchObject({ kind: 'AlreadyExists' });
      const elsewhere = await openStream(t, 'taken-1', { namespace: 'other' }); // ids are per namespace
      first.cancel();
      elsewhere.cancel();
    });

    it('ends a stream no transfer takes within the claim timeout (DEADLINE_EXCEEDED), and frees its id', async () => {
      const m = new StreamManager({ claimTimeoutMs: 100 });
      const ended: unknown[] = [];
      const fake = { id: 'idle', done: new Promise<void>(() => undefined), ended: false, reset: false, fail: (st: unknown) => ended.push(st) };
      m.register('ns', fake as never);
      await new Promise((r) => setTimeout(r, 250));
      expect(ended).toEqual([{ code: 4, details: expect.stringContaining('no transfer used it within') }]);
      expect(() => m.take('ns', 'nope', 'progress')).toThrow(/not found/);
    });
  });

  describe('Transfer/Transfer statuses', () => {
    const transfer = (req: object, namespace = 'default') => unaryCall(t, TRANSFER, req as never, { namespace });
    const store = (name: string) => any('ImageStore', { name });

    it('requires a namespace (FAILED_PRECONDITION), a source and a destination (INVALID_ARGUMENT)', async () => {
      await expect(transfer({ source: store('a'), destination: store('b') }, '')).rejects.toMatchObject({ kind: 'FailedPrecondition' });
      await expect(transfer({ destination: store('b') })).rejects.toMatchObject({ kind: 'InvalidArgument', message: 'TransferRequest.source: required' });
      await expect(transfer({ source: store('a') })).rejects.toMatchObject({ kind: 'InvalidArgument', message: 'TransferRequest.destination: required' });
    });

    it('answers UNIMPLEMENTED for types and pairs berth does not handle', async () => {
      await expect(transfer({ source: packAny('containerd.types.Platform', { os: 'linux' }), destination: store('b') })).rejects.toMatchObject({
        kind: 'NotImplemented',
        message: expect.stringContaining('containerd.types.Platform'),
      });
      await expect(transfer({ source: any('OCIRegistry', { reference: 'x' }), destination: any('ImageExportStream', { stream: 's' }) })).rejects.toMatchObject({
        kind: 'NotImplemented',
        message: expect.stringContaining('from OCIRegistry to ImageExportStream'),
      });
      const reg = (resolver: object) => any('OCIRegistry', { reference: '127.0.0.1:1/x:1', resolver });
      await expect(transfer({ source: reg({ host_dir: '/etc/containerd/certs.d' }), destination: store('x') })).rejects.toMatchObject({
        kind: 'NotImplemented',
        message: expect.stringContaining('host_dir'),
      });
      await expect(transfer({ source: reg({ http_debug: 'DEBUG' }), destination: store('x') })).rejects.toMatchObject({
        kind: 'NotImplemented',
        message: expect.stringContaining('http_debug'),
      });
      await expect(transfer({ source: reg({ default_scheme: 'ftp' }), destination: store('x') })).rejects.toMatchObject({ kind: 'InvalidArgument' });
      await expect(transfer({ source: reg({ headers: { Host: 'evil' } }), destination: store('x') })).rejects.toMatchObject({
        kind: 'InvalidArgument',
        message: expect.stringContaining('Host may not be set'),
      });
      await expect(transfer({ source: any('ImageImportStream', { stream: 's', force_compress: true }), destination: store('x') })).rejects.toMatchObject({
        kind: 'NotImplemented',
      });
    });

    it('a stream the request names must exist (NOT_FOUND) and serves one transfer (FAILED_PRECONDITION)', async () => {
      await expect(transfer({ source: store('a'), destination: store('b'), options: { progress_stream: 'nope' } })).rejects.toMatchObject({
        kind: 'NotFound',
        message: expect.stringContaining('progress stream "nope"'),
      });
      const id = streamId('import');
      const s = await openStream(t, id);
      const first = transfer({ source: any('ImageImportStream', { stream: id }), destination: store('') });
      await new Promise((r) => setTimeout(r, 100));
      await expect(transfer({ source: any('ImageImportStream', { stream: id }), destination: store('') })).rejects.toMatchObject({
        kind: 'FailedPrecondition',
        message: expect.stringContaining('already used'),
      });
      s.cancel();
      await expect(first).rejects.toMatchObject({ kind: expect.stringMatching(/Canceled|InvalidArgument/) });
    });

    it('a tag or export of an image that does not exist is NOT_FOUND', async () => {
      const t = client.withNamespace(ns()).transfer;
      await expect(t.tag('no/such:1', 'x:1')).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(t.exportArchive(['no/such:1'], new PassThrough().resume())).rejects.toMatchObject({ kind: 'NotFound' });
    });
  });

  describe('import, export and tag through the client module', () => {
    it('imports an OCI archive with flow control; names it from the archive; progress ends with saved', async () => {
      const namespace = ns();
      const t = client.withNamespace(namespace).transfer;
      const events: Progress[] = [];
      const saved = await t.importArchive(createReadStream(ociTar), { unpack: false, onProgress: (p) => events.push(p) });
      expect(saved).toEqual([{ name: 'docker.io/library/busybox:svc', digest: bb.manifest.digest, mediaType: bb.manifest.mediaType }]);
      expect(events.filter((e) => e.event === 'importing').map((e) => e.name)).toContain(`blobs/sha256/${bb.layers[0]!.digest.slice(7)}`);
      expect(events[events.length - 1]).toMatchObject({ event: 'saved', name: 'docker.io/library/busybox:svc' });
    });

    it('imports a gzip-compressed docker-save archive, and with containerd prefix naming', async () => {
      const dockerTar = join(work, 'docker.tar.gz');
      await writeDockerArchive([bb], join(work, 'docker.tar'));
      await writeFile(dockerTar, gzipSync(await readFile(join(work, 'docker.tar'))));
      const t = client.withNamespace(ns()).transfer;
      const saved = await t.importArchive(createReadStream(dockerTar), { unpack: false });
      expect(saved.map((s) => s.name)).toEqual(['docker.io/library/busybox:svc']);
      const named = await client
        .withNamespace(ns())
        .transfer.importArchive(createReadStream(ociTar), { unpack: false, prefix: 'docker.io/library/busybox', digests: true });
      // containerd stores the archive's index too (core/transfer/local/import.go): a digest name for it beside the entry's two.
      expect(named.filter((s) => s.digest === bb.manifest.digest).map((s) => s.name)).toEqual([
        'docker.io/library/busybox:svc',
        `docker.io/library/busybox@${bb.manifest.digest}`,
      ]);
      const index = named.filter((s) => s.digest !== bb.manifest.digest);
      expect(index).toEqual([
        {
          name: expect.stringMatching(/^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/),
          digest: index[0]!.name.split('@')[1],
          mediaType: 'application/vnd.oci.image.index.v1+json',
        },
      ]);
    });

    it('an archive that is not a tar is INVALID_ARGUMENT; no image is left', async () => {
      const namespace = ns();
      const t = client.withNamespace(namespace).transfer;
      await expect(t.importArchive(Readable.from([Buffer.alloc(4096, 7)]), { unpack: false })).rejects.toMatchObject({ kind: 'InvalidArgument' });
      await expect(t.tag('docker.io/library/busybox:svc', 'x:1')).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('exports (OCI and docker format) what it imported, tags it, and the export imports again elsewhere', async () => {
      const t = client.withNamespace(ns()).transfer;
      await t.importArchive(createReadStream(ociTar), { unpack: false });
      const tagged = await t.tag('docker.io/library/busybox:svc', ['docker.io/library/busybox:copy', 'example.com/bb:2']);
      expect(tagged.map((s) => [s.name, s.digest])).toEqual([
        ['docker.io/library/busybox:copy', bb.manifest.digest],
        ['example.com/bb:2', bb.manifest.digest],
      ]);
      for (const mediaType of [undefined, DOCKER_ARCHIVE]) {
        const file = join(work, `export-${n}-${mediaType ? 'docker' : 'oci'}.tar`);
        const events: Progress[] = [];
        await t.exportArchive(['docker.io/library/busybox:copy'], createWriteStream(file), { mediaType, onProgress: (p) => events.push(p) });
        expect((await stat(file)).size).toBeGreaterThan(bb.layers[0]!.size);
        expect(events.some((e) => e.event === 'exporting')).toBe(true);
        const again = await client.withNamespace(ns()).transfer.importArchive(createReadStream(file), { unpack: false });
        expect(again.map((s) => s.name)).toEqual(['docker.io/library/busybox:copy']);
      }
    });

    it('a client that sends beyond its credit is refused (INVALID_ARGUMENT); berth grants its window once, then only as it consumes', async () => {
      const sent: AnyValue[] = [];
      const inbox = [any('Data', { data: Buffer.alloc(600) }), any('Data', { data: Buffer.alloc(500) })];
      const fake = { send: async (m: AnyValue) => void sent.push(m), recv: async () => inbox.shift(), reset: false };
      const bytes = receiveBytes(fake as never, 'import', 1000);
      const first = await bytes.next();
      expect(first.value).toHaveLength(600);
      // 600 of 1000 taken: 400 outstanding <= half the window, so berth tops it up to 1000 ahead.
      await expect(bytes.next()).resolves.toMatchObject({ value: expect.any(Buffer) });
      const updates = sent.map((m) => (codecOf('containerd.types.transfer.WindowUpdate').decode(m.value) as { update: number }).update);
      expect(updates).toEqual([1000, 600]);
      const greedy = receiveBytes(
        { send: async () => undefined, recv: async () => any('Data', { data: Buffer.alloc(1001) }), reset: false } as never,
        'import',
        1000,
      );
      await expect(greedy.next()).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('1 bytes beyond the credit') });
    });

    it('an import cancelled by its AbortSignal stops: Canceled, and no image', async () => {
      const namespace = ns();
      const t = client.withNamespace(namespace).transfer;
      const ac = new AbortController();
      const slow = new Readable({ read() {} });
      slow.push((await readFile(ociTar)).subarray(0, 4096));
      const op = t.importArchive(slow, { unpack: false, signal: ac.signal });
      setTimeout(() => ac.abort(), 200);
      await expect(op).rejects.toMatchObject({ kind: 'Canceled' });
      await expect(t.tag('docker.io/library/busybox:svc', 'x:1')).rejects.toMatchObject({ kind: 'NotFound' });
    });
  });
});
