import { DOCKER_ARCHIVE_MEDIA_TYPE, OCI_ARCHIVE_MEDIA_TYPE } from '../../api';
import type { Ctx } from '../../core/context';
import { invalidArgument, notImplemented } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { ProgressFn, TransferService } from '../../transfer';
import type { ImageStore } from '../../api/gen/containerd/types/transfer/imagestore';
import type { ImageExportStream, ImageImportStream } from '../../api/gen/containerd/types/transfer/importexport';
import type { OCIRegistry, RegistryResolver } from '../../api/gen/containerd/types/transfer/registry';
import { destinationFromProto, platformsFromProto, resolverFromProto, unpacksFromProto } from '../convert/transfer';
import { credentialsOverStream } from '../streaming/auth';
import { receiveBytes, sendBytes } from '../streaming/bytes';
import type { AnyStream, StreamManager } from '../streaming/manager';
import type { Endpoint } from './endpoints';

/** The streams one Transfer call takes, closed when it ends (or when its caller goes away). */
export class TransferSession {
  private readonly taken: AnyStream[] = [];
  constructor(
    private readonly streams: StreamManager,
    private readonly ctx: Ctx & { ns: string },
    readonly log: Logger,
  ) {
    ctx.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  take(id: string, what: string): AnyStream {
    const s = this.streams.take(this.ctx.ns, id, what);
    this.taken.push(s);
    if (this.ctx.signal?.aborted) s.close();
    return s;
  }

  close(): void {
    for (const s of this.taken) s.close();
  }
}

type Operation = (ctx: Ctx, t: TransferService, session: TransferSession, onProgress?: ProgressFn) => Promise<void>;

/** The operation for a source and destination pair (containerd's local transferrer matrix); NotImplemented otherwise. */
export function operation(src: Endpoint, dst: Endpoint): Operation {
  if (src.kind === 'OCIRegistry' && dst.kind === 'ImageStore') return (ctx, t, s, p) => pull(ctx, t, s, src.v, dst.v, p);
  if (src.kind === 'ImageStore' && dst.kind === 'OCIRegistry') return (ctx, t, s, p) => push(ctx, t, s, src.v, dst.v, p);
  if (src.kind === 'ImageStore' && dst.kind === 'ImageStore') return (ctx, t, _s, p) => tag(ctx, t, src.v, dst.v, p);
  if (src.kind === 'ImageImportStream' && dst.kind === 'ImageStore') return (ctx, t, s, p) => importArchive(ctx, t, s, src.v, dst.v, p);
  if (src.kind === 'ImageStore' && dst.kind === 'ImageExportStream') return (ctx, t, s, p) => exportArchive(ctx, t, s, src.v, dst.v, p);
  throw notImplemented(
    `transfer from ${src.kind} to ${dst.kind} is not implemented (berth: OCIRegistry→ImageStore pull, ImageStore→OCIRegistry push, ImageStore→ImageStore tag, ImageImportStream→ImageStore import, ImageStore→ImageExportStream export)`,
  );
}

function registryOptions(session: TransferSession, reg: OCIRegistry) {
  if (!reg.reference) throw invalidArgument('OCIRegistry.reference: required');
  return registryResolver(reg.resolver, reg.reference, () => session);
}

/**
 * A RegistryResolver's options: its headers and scheme, and, when it names an auth stream, the
 * credentials for `reference` asked over that stream. `session` is called only then, after the
 * resolver has been checked (Engine/ListTags needs a namespace only for a stream).
 */
export function registryResolver(resolver: RegistryResolver | undefined, reference: string, session: () => TransferSession) {
  const o = resolverFromProto(resolver);
  const auth = resolver?.auth_stream;
  return { ...o, ...(auth ? { credentials: credentialsOverStream(session().take(auth, 'auth'), reference) } : {}) };
}

/** ImageStore platforms: none means every platform (containerd's platforms.All). */
function platformChoice(ps: ImageStore['platforms']) {
  return ps.length ? { platforms: platformsFromProto(ps) } : { allPlatforms: true };
}

async function pull(ctx: Ctx, t: TransferService, session: TransferSession, reg: OCIRegistry, store: ImageStore, onProgress?: ProgressFn): Promise<void> {
  const dest = destinationFromProto(store);
  const registry = registryOptions(session, reg);
  await t.pull(ctx, {
    ref: reg.reference,
    ...(dest.name ? { name: dest.name } : {}),
    labels: dest.labels,
    extraReferences: [...(dest.extraReferences ?? [])],
    ...platformChoice(store.platforms),
    allMetadata: store.all_metadata,
    ...(store.manifest_limit ? { manifestLimit: store.manifest_limit } : {}),
    unpacks: unpacksFromProto(store),
    ...registry,
    onProgress,
  });
}

async function push(ctx: Ctx, t: TransferService, session: TransferSession, store: ImageStore, reg: OCIRegistry, onProgress?: ProgressFn): Promise<void> {
  if (!store.name) throw invalidArgument('ImageStore.name (the image to push): required');
  const registry = registryOptions(session, reg);
  await t.push(ctx, {
    name: store.name,
    ref: reg.reference,
    ...(store.platforms.length ? { platforms: platformsFromProto(store.platforms) } : {}),
    ...registry,
    onProgress,
  });
}

async function tag(ctx: Ctx, t: TransferService, src: ImageStore, dst: ImageStore, onProgress?: ProgressFn): Promise<void> {
  if (!src.name) throw invalidArgument('source ImageStore.name (the image to tag): required');
  for (const img of await t.tagAs(ctx, src.name, destinationFromProto(dst))) onProgress?.({ event: 'saved', name: img.name, desc: img.target });
}

async function importArchive(
  ctx: Ctx,
  t: TransferService,
  session: TransferSession,
  imp: ImageImportStream,
  store: ImageStore,
  onProgress?: ProgressFn,
): Promise<void> {
  if (!imp.stream) throw invalidArgument('ImageImportStream.stream: required');
  if (imp.force_compress) throw notImplemented('ImageImportStream.force_compress: compressing imported layers is not supported by berth');
  const dest = destinationFromProto(store);
  const named = !!dest.name || !!dest.extraReferences?.length;
  const input = receiveBytes(session.take(imp.stream, 'import'), 'import');
  await t.import(ctx, input, {
    ...(named ? { destination: dest } : { labels: dest.labels }),
    ...platformChoice(store.platforms),
    unpacks: unpacksFromProto(store),
    onProgress,
  });
}

function exportFormat(mediaType: string): 'oci' | 'docker' {
  if (!mediaType || mediaType === OCI_ARCHIVE_MEDIA_TYPE) return 'oci';
  if (mediaType === DOCKER_ARCHIVE_MEDIA_TYPE) return 'docker';
  throw invalidArgument(
    `ImageExportStream.media_type ${JSON.stringify(mediaType.slice(0, 200))}: berth writes ${OCI_ARCHIVE_MEDIA_TYPE} (the default) or ${DOCKER_ARCHIVE_MEDIA_TYPE}`,
  );
}

async function exportArchive(
  ctx: Ctx,
  t: TransferService,
  session: TransferSession,
  store: ImageStore,
  exp: ImageExportStream,
  onProgress?: ProgressFn,
): Promise<void> {
  if (!exp.stream) throw invalidArgument('ImageExportStream.stream: required');
  const names = [
    store.name,
    ...store.extra_references.map((r) => {
      if (r.is_prefix) throw notImplemented(`export: prefix references (${JSON.stringify(r.name)}) are not supported; name each image`);
      return r.name;
    }),
  ].filter(Boolean);
  if (!names.length) throw invalidArgument('export: the source ImageStore names no image');
  const format = exportFormat(exp.media_type);
  const out = sendBytes(session.take(exp.stream, 'export'), 'export', session.log);
  await t.export(
    ctx,
    {
      names,
      format,
      ...(exp.platforms.length ? { platforms: platformsFromProto(exp.platforms) } : {}),
      allPlatforms: exp.all_platforms,
      skipCompatibilityManifest: exp.skip_compatibility_manifest,
      skipNonDistributable: exp.skip_non_distributable,
      onProgress,
    },
    out,
  );
}
