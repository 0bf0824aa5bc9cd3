import type { Readable, Writable } from 'node:stream';
import { DOCKER_ARCHIVE_MEDIA_TYPE, OCI_ARCHIVE_MEDIA_TYPE, service } from '../../api';
import { invalidArgument } from '../../core/errors';
import { type Transport, unaryCall } from '../rpc';
import { answerAuth, type CredentialsCallback } from './auth';
import { receiveArchive, sendArchive } from './bytes';
import { hostPlatform, platformToProto, toPlatform, type Platform } from './platform';
import { ProgressQueue, type Progress } from './progress';
import { runTransfer, transferAny, withStreams, type SideStream } from './run';

/** Media types of an archive: an OCI image layout tar (the default), or a classic `docker save` tar. */
export const OCI_ARCHIVE = OCI_ARCHIVE_MEDIA_TYPE;
export const DOCKER_ARCHIVE = DOCKER_ARCHIVE_MEDIA_TYPE;

export interface OperationOptions {
  signal?: AbortSignal;
  /** Called for each progress event, in order (see Progress for the events). */
  onProgress?: (p: Progress) => void;
}

export interface RegistryOptions {
  /** Asked when a registry wants credentials (before berthd's own ~/.docker/config.json). */
  credentials?: CredentialsCallback;
  /** Plain HTTP to the registry (loopback registries are plain HTTP anyway). */
  plainHttp?: boolean;
  /** Extra HTTP headers for the registry. */
  headers?: Record<string, string>;
}

export interface PullOptions extends OperationOptions, RegistryOptions {
  /** Platforms to pull (`linux/arm64`); default this machine's. */
  platform?: string | Platform | Array<string | Platform>;
  /** Every platform of an index (then the host's is unpacked). */
  allPlatforms?: boolean;
  /** Manifests and configs of every platform too, layers only of those pulled (ctr 2's default). */
  allMetadata?: boolean;
  /** Unpack into snapshots (default true): the first platform's image. */
  unpack?: boolean;
  /** Default: the namespace's default snapshotter. */
  snapshotter?: string;
  /** The local name; default the normalised reference. */
  name?: string;
  labels?: Record<string, string>;
}

export interface ListTagsOptions extends RegistryOptions {
  signal?: AbortSignal;
  /** Tags per page asked of the registry (`n=`); default the registry's. berthd follows every page. */
  pageSize?: number;
}

/** A repository's tags in its registry. */
export interface RepositoryTags {
  /** The full name: `docker.io/library/busybox`. */
  name: string;
  /** In the registry's order. */
  tags: string[];
}

export interface PushOptions extends OperationOptions, RegistryOptions {
  /** Only these platforms of an index (default every one). */
  platform?: string | Platform | Array<string | Platform>;
}

export interface ImportOptions extends OperationOptions {
  /** Platforms whose content the archive must hold (default this machine's; `allPlatforms` for all). */
  platform?: string | Platform | Array<string | Platform>;
  allPlatforms?: boolean;
  unpack?: boolean;
  snapshotter?: string;
  labels?: Record<string, string>;
  /**
   * containerd's naming instead of the archive's names: entries named only by a tag become
   * `<prefix>:<tag>` (ctr import --base-name); `digests` also names each `<prefix>@<digest>`.
   */
  prefix?: string;
  digests?: boolean;
  /** The whole archive's index under this name (ctr import --index-name). */
  indexName?: string;
}

export interface ExportOptions extends OperationOptions {
  /** OCI_ARCHIVE (default) or DOCKER_ARCHIVE. */
  mediaType?: string;
  platform?: string | Platform | Array<string | Platform>;
  allPlatforms?: boolean;
  /** No Docker manifest.json in an OCI archive. */
  skipCompatibilityManifest?: boolean;
  skipNonDistributable?: boolean;
}

/** An image a transfer stored (from its `saved` progress events). */
export interface SavedImage {
  name: string;
  digest: string;
  mediaType: string;
}

/** A running operation: await it for its result, or iterate it for its progress (or both). */
export class TransferOperation<T> implements PromiseLike<T>, AsyncIterable<Progress> {
  readonly result: Promise<T>;
  private readonly queue = new ProgressQueue();

  constructor(run: (emit: (p: Progress) => void) => Promise<T>, onProgress?: (p: Progress) => void) {
    this.result = run((p) => {
      onProgress?.(p);
      this.queue.push(p);
    });
    this.result.then(
      () => this.queue.end(),
      (e) => this.queue.end(e),
    );
  }

  then<A = T, B = never>(ok?: ((v: T) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.result.then(ok, fail);
  }

  /** Progress events in order; ends when the operation does (throwing its error if it failed). */
  [Symbol.asyncIterator](): AsyncIterator<Progress> {
    return this.queue[Symbol.asyncIterator]();
  }
}

function platforms(p: PullOptions['platform']): Platform[] {
  if (p === undefined) return [];
  return (Array.isArray(p) ? p : [p]).map(toPlatform);
}

/** The auth stream answering berthd's AuthRequests from the callback, when there is one (its id comes first). */
function authSide(o: RegistryOptions): SideStream[] {
  return o.credentials ? [{ prefix: 'creds', use: (s) => answerAuth(s, o.credentials!) }] : [];
}

/** A RegistryResolver: the auth stream is ids[0] when there are credentials. */
function resolver(o: RegistryOptions, ids: string[]) {
  return { auth_stream: o.credentials ? ids[0]! : '', headers: o.headers ?? {}, default_scheme: o.plainHttp ? 'http' : '' };
}

function registry(ref: string, o: RegistryOptions, ids: string[]) {
  return transferAny('OCIRegistry', { reference: ref, resolver: resolver(o, ids) });
}

/**
 * pull, push, tag, import and export through berthd's Transfer service (containerd 2.x's
 * Transfer/Streaming API), on berth's client channel, in one namespace. Errors are
 * SupervisorErrors of berth's kinds (NotFound, PermissionDenied, …); an aborted `signal`
 * cancels the operation (Canceled) and berthd stops it.
 *
 *   const client = new Client();
 *   const img = await client.transfer.pull('busybox:1.36', { onProgress: (p) => console.log(p.event, p.name) });
 */
export class TransferClient {
  constructor(private readonly t: Transport) {}

  get namespace(): string {
    return this.t.namespace;
  }

  private run<T>(o: OperationOptions, body: (emit: (p: Progress) => void) => Promise<T>): TransferOperation<T> {
    return new TransferOperation(body, o.onProgress);
  }

  /** Pulls `ref` (`busybox`, `127.0.0.1:5000/app:1`, `…@sha256:…`); resolves with the stored image. */
  pull(ref: string, o: PullOptions = {}): TransferOperation<SavedImage> {
    return this.run(o, async (emit) => {
      const saved = collectSaved(emit);
      const ps = platforms(o.platform);
      const want = o.allPlatforms ? [] : ps.length ? ps : [hostPlatform()];
      const unpackFor = want[0] ?? hostPlatform();
      await runTransfer(this.t, {
        side: authSide(o),
        signal: o.signal,
        onProgress: saved.fn,
        endpoints: (ids) => ({
          source: registry(ref, o, ids),
          destination: transferAny('ImageStore', {
            name: o.name ?? '',
            labels: o.labels ?? {},
            platforms: want.map(platformToProto),
            all_metadata: !!o.allMetadata,
            unpacks: o.unpack === false ? [] : [{ platform: platformToProto(unpackFor), snapshotter: o.snapshotter ?? '' }],
          }),
        }),
      });
      return saved.first(`pull ${ref}`);
    });
  }

  /** Pushes the local image `name` to `ref` (default: its own name). */
  push(name: string, ref = name, o: PushOptions = {}): TransferOperation<void> {
    return this.run(o, async (emit) => {
      await runTransfer(this.t, {
        side: authSide(o),
        signal: o.signal,
        onProgress: emit,
        endpoints: (ids) => ({
          source: transferAny('ImageStore', { name, platforms: platforms(o.platform).map(platformToProto) }),
          destination: registry(ref, o, ids),
        }),
      });
    });
  }

  /**
   * Every tag of a repository in its registry (`busybox`, `127.0.0.1:5000/team/app`, without tag
   * or digest): berth's Engine/ListTags, which berthd answers as it reaches registries for a pull
   * (its hosts configuration; the credentials callback, then its own Docker config).
   */
  listTags(repository: string, o: ListTagsOptions = {}): Promise<RepositoryTags> {
    return withStreams(this.t, 'list tags', authSide(o), o.signal, async (ids) => {
      const method = service('berth.engine.v1.Engine').methods.ListTags;
      const r = await unaryCall(this.t, method, { repository, resolver: resolver(o, ids), page_size: o.pageSize ?? 0 }, { signal: o.signal });
      return { name: r.name, tags: r.tags };
    });
  }

  /** Gives the local image `source` one or more other names. */
  tag(source: string, target: string | string[], o: OperationOptions & { labels?: Record<string, string> } = {}): TransferOperation<SavedImage[]> {
    const names = Array.isArray(target) ? target : [target];
    if (!names.length) throw invalidArgument('tag: no target name');
    return this.run(o, async (emit) => {
      const saved = collectSaved(emit);
      await runTransfer(this.t, {
        signal: o.signal,
        onProgress: saved.fn,
        endpoints: () => ({
          source: transferAny('ImageStore', { name: source }),
          destination: transferAny('ImageStore', { name: names[0]!, labels: o.labels ?? {}, extra_references: names.slice(1).map((n) => ({ name: n })) }),
        }),
      });
      return saved.all;
    });
  }

  /** Imports an image archive (OCI layout or `docker save` tar, gzip or not); resolves with the images stored. */
  importArchive(input: Readable | AsyncIterable<Buffer | Uint8Array | string>, o: ImportOptions = {}): TransferOperation<SavedImage[]> {
    return this.run(o, async (emit) => {
      const saved = collectSaved(emit);
      const ps = platforms(o.platform);
      const want = o.allPlatforms ? [] : ps.length ? ps : [hostPlatform()];
      const refs = o.prefix ? [{ name: o.prefix, is_prefix: true, allow_overwrite: false, add_digest: !!o.digests }] : [];
      await runTransfer(this.t, {
        side: [{ prefix: 'import', use: (s) => sendArchive(s, input) }],
        signal: o.signal,
        onProgress: saved.fn,
        endpoints: (ids) => ({
          source: transferAny('ImageImportStream', { stream: ids[0]! }),
          destination: transferAny('ImageStore', {
            name: o.indexName ?? '',
            labels: o.labels ?? {},
            platforms: want.map(platformToProto),
            extra_references: refs,
            unpacks: o.unpack === false ? [] : [{ platform: platformToProto(want[0] ?? hostPlatform()), snapshotter: o.snapshotter ?? '' }],
          }),
        }),
      });
      return saved.all;
    });
  }

  /** Writes the named images as one archive to `out` (ended when the archive is complete). */
  exportArchive(names: string[], out: Writable, o: ExportOptions = {}): TransferOperation<void> {
    if (!names.length) throw invalidArgument('export: no image names');
    return this.run(o, async (emit) => {
      await runTransfer(this.t, {
        side: [{ prefix: 'export', use: (s) => receiveArchive(s, out) }],
        signal: o.signal,
        onProgress: emit,
        endpoints: (ids) => ({
          source: transferAny('ImageStore', { name: names[0]!, extra_references: names.slice(1).map((n) => ({ name: n })) }),
          destination: transferAny('ImageExportStream', {
            stream: ids[0]!,
            media_type: o.mediaType ?? '',
            platforms: platforms(o.platform).map(platformToProto),
            all_platforms: !!o.allPlatforms,
            skip_compatibility_manifest: !!o.skipCompatibilityManifest,
            skip_non_distributable: !!o.skipNonDistributable,
          }),
        }),
      });
    });
  }
}

/** Passes events on and remembers the images `saved` events name. */
function collectSaved(emit: (p: Progress) => void) {
  const all: SavedImage[] = [];
  return {
    all,
    fn: (p: Progress) => {
      if (p.event === 'saved' && p.desc) all.push({ name: p.name, digest: p.desc.digest, mediaType: p.desc.mediaType });
      emit(p);
    },
    first(what: string): SavedImage {
      if (!all[0]) throw invalidArgument(`${what}: berthd reported no stored image`);
      return all[0];
    },
  };
}
