import type { Platform } from '../../core/types';
import { invalidArgument, notImplemented } from '../../core/errors';
import type { Progress } from '../../transfer';
import type { ImageDestination, ImageReference, UnpackRequest } from '../../transfer';
import type { Platform as PlatformProto } from '../../api/gen/containerd/types/platform';
import type { Progress as ProgressProto } from '../../api/gen/containerd/types/transfer/progress';
import type { ImageStore, ImageReference as ImageReferenceProto } from '../../api/gen/containerd/types/transfer/imagestore';
import type { RegistryResolver } from '../../api/gen/containerd/types/transfer/registry';
import { descriptorToProto } from './common';

export type { ProgressProto };

export function platformFromProto(p: PlatformProto | undefined): Platform | undefined {
  if (!p || (!p.os && !p.architecture)) return undefined;
  if (!p.os || !p.architecture) throw invalidArgument(`platform ${JSON.stringify(p)}: os and architecture are both required`);
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}

export function platformsFromProto(ps: readonly PlatformProto[]): Platform[] {
  return ps.map((p, i) => {
    const out = platformFromProto(p);
    if (!out) throw invalidArgument(`platforms[${i}]: os and architecture are required`);
    return out;
  });
}

function referenceFromProto(r: ImageReferenceProto, i: number): ImageReference {
  if (!r.name) throw invalidArgument(`ImageStore.extra_references[${i}].name: required`);
  return { name: r.name, isPrefix: r.is_prefix, allowOverwrite: r.allow_overwrite, addDigest: r.add_digest, skipNamedDigest: r.skip_named_digest };
}

/** An ImageStore destination's naming: its name, labels and extra references (transfer/naming.ts). */
export function destinationFromProto(s: ImageStore): ImageDestination {
  return { ...(s.name ? { name: s.name } : {}), labels: { ...s.labels }, extraReferences: s.extra_references.map(referenceFromProto) };
}

export function unpacksFromProto(s: ImageStore): UnpackRequest[] {
  return s.unpacks.map((u) => ({
    ...(platformFromProto(u.platform) ? { platform: platformFromProto(u.platform) } : {}),
    ...(u.snapshotter ? { snapshotter: u.snapshotter } : {}),
  }));
}

/** Headers a client may not set on registry requests: the HTTP client owns framing and the host. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A RegistryResolver as registry options. berth honours headers and default_scheme; a hosts
 * directory (containerd's hosts.toml) and HTTP debugging are NotImplemented: berthd's registry
 * configuration is its config file's `registry` section.
 */
export function resolverFromProto(r: RegistryResolver | undefined): { headers?: Record<string, string>; plainHttp?: boolean } {
  if (!r) return {};
  if (r.host_dir)
    throw notImplemented(
      `RegistryResolver.host_dir ${JSON.stringify(r.host_dir)}: hosts.toml directories are not supported by berth; configure registry.hosts in berthd's config file`,
    );
  if (r.http_debug !== 'DISABLED' || r.logs_stream)
    throw notImplemented(
      'RegistryResolver.http_debug: HTTP debugging to the client is not supported by berth (berthd --log-level debug logs registry requests)',
    );
  if (r.default_scheme && r.default_scheme !== 'http' && r.default_scheme !== 'https')
    throw invalidArgument(`RegistryResolver.default_scheme ${JSON.stringify(r.default_scheme)}: must be http or https`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (!TOKEN.test(k)) throw invalidArgument(`RegistryResolver.headers: ${JSON.stringify(k.slice(0, 100))} is not a valid header name`);
    if (RESERVED_HEADERS.has(k.toLowerCase())) throw invalidArgument(`RegistryResolver.headers: ${k} may not be set`);
    if (/[\r\n\0]/.test(v)) throw invalidArgument(`RegistryResolver.headers[${k}]: the value has a line break or NUL`);
    headers[k.toLowerCase()] = v;
  }
  return { ...(Object.keys(headers).length ? { headers } : {}), ...(r.default_scheme === 'http' ? { plainHttp: true } : {}) };
}

export function progressToProto(p: Progress): ProgressProto {
  return {
    event: p.event,
    name: p.name,
    parents: p.parents ?? [],
    progress: String(p.progress ?? 0),
    total: String(p.total ?? 0),
    desc: p.desc ? descriptorToProto(p.desc) : undefined,
  };
}
