/** OCI and Docker media types (image-spec `specs-go/v1/mediatype.go`, containerd's `core/images/mediatypes.go`). */
export const MEDIA_TYPE = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What a registry is asked for when resolving (containerd's resolver sends the same set). */
export const MANIFEST_ACCEPT = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.dockerManifest, '*/*'].join(', ');

const stripParams = (mt: string) => mt.split(';')[0]!.trim();

export function isIndexType(mt: string): boolean {
  const m = stripParams(mt);
  return m === MEDIA_TYPE.ociIndex || m === MEDIA_TYPE.dockerManifestList;
}

export function isManifestType(mt: string): boolean {
  const m = stripParams(mt);
  return m === MEDIA_TYPE.ociManifest || m === MEDIA_TYPE.dockerManifest;
}

export function isSchema1Type(mt: string): boolean {
  const m = stripParams(mt);
  return m === MEDIA_TYPE.dockerSchema1 || m === MEDIA_TYPE.dockerSchema1Signed || m === 'text/plain';
}

export function isConfigType(mt: string): boolean {
  const m = stripParams(mt);
  return m === MEDIA_TYPE.ociConfig || m === MEDIA_TYPE.dockerConfig;
}

/** Layer media types, including the nondistributable and foreign variants (containerd's IsLayerType). */
export function isLayerType(mt: string): boolean {
  const m = stripParams(mt);
  return m.startsWith('application/vnd.oci.image.layer.') || m.startsWith('application/vnd.docker.image.rootfs.');
}

/** Docker's foreign and OCI's nondistributable layers: never pushed (containerd skips them too). */
export function isNonDistributable(mt: string): boolean {
  const m = stripParams(mt);
  return m.includes('.nondistributable.') || m.includes('.foreign.');
}

/**
 * The prefix containerd gives a blob's ingest ref (remotes.MakeRefKey): `manifest-`, `index-`,
 * `layer-`, `config-`, else `unknown-`. berth's layer staging pre-extracts `layer-` ingests.
 */
export function refKeyPrefix(mt: string): string {
  if (isManifestType(mt)) return 'manifest';
  if (isIndexType(mt)) return 'index';
  if (isLayerType(mt)) return 'layer';
  if (isConfigType(mt)) return 'config';
  return 'unknown';
}
