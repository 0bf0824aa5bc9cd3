/**
 * The metadata key tree (containerd's core/metadata/buckets.go, on LevelDB).
 * Keys are path segments joined by NUL (`\x00`), so names containing `/` or `.` stay unambiguous.
 * Values are JSON (decoded with zod where read back).
 *
 *   meta ─ version                                       → number (SCHEMA_VERSION)
 *   v1 ─ <ns> ─ ns                                       → NamespaceRecord {labels}
 *          ├─ image ─ <name>                             → ImageRecord
 *          ├─ container ─ <id>                           → Container record (metadata/containers.ts); a GC root:
 *          │                                               its snapshotter/snapshotKey and image stay referenced
 *          ├─ blob ─ <digest>                            → BlobRecord {size, labels, createdAt, updatedAt}
 *          ├─ ingest ─ <ref>                             → IngestRecord {expected?, lease?}
 *          ├─ lease ─ <id>                               → LeaseRecord {labels, createdAt}
 *          ├─ leaseres ─ <lease> ─ <type> ─ <resource>   → '' (type: content | ingests | snapshots/<snapshotter>)
 *          ├─ snapshot ─ <snapshotter> ─ <key>           → SnapshotRecord (namespaced key → backend key)
 *          ├─ engine-container ─ <id>                    → berth's engine record (metadata/engine-containers.ts): Docker
 *          │                                               config, host config and state of container <id>
 *          ├─ engine-name ─ <name>                       → id: the engine's unique container names
 *          ├─ volume ─ <name>                            → VolumeRecord (metadata/volumes.ts): the engine's volumes
 *          └─ volume-user ─ <name> ─ <container>         → {since, mounted?}: the container uses (and has mounted) the volume
 *
 * A namespace exists when its `ns` record exists. It is created implicitly on the first write
 * inside it (containerd creates the bucket), and explicitly by Namespaces/Create.
 * Blobs live once on disk (content/) but are visible per namespace through `blob` records.
 */
export const SCHEMA_VERSION = 1;
export const SEP = '\x00';

export type Key = readonly string[];

export function encodeKey(parts: Key): string {
  for (const p of parts) if (p.includes(SEP)) throw new Error('key segment contains NUL');
  return parts.join(SEP);
}

export function decodeKey(key: string): string[] {
  return key.split(SEP);
}

export const keys = {
  version: (): Key => ['meta', 'version'],
  nsRoot: (ns: string): Key => ['v1', ns],
  namespace: (ns: string): Key => ['v1', ns, 'ns'],
  images: (ns: string): Key => ['v1', ns, 'image'],
  image: (ns: string, name: string): Key => ['v1', ns, 'image', name],
  containers: (ns: string): Key => ['v1', ns, 'container'],
  container: (ns: string, id: string): Key => ['v1', ns, 'container', id],
  blobs: (ns: string): Key => ['v1', ns, 'blob'],
  blob: (ns: string, digest: string): Key => ['v1', ns, 'blob', digest],
  ingests: (ns: string): Key => ['v1', ns, 'ingest'],
  ingest: (ns: string, ref: string): Key => ['v1', ns, 'ingest', ref],
  leases: (ns: string): Key => ['v1', ns, 'lease'],
  lease: (ns: string, id: string): Key => ['v1', ns, 'lease', id],
  leaseResources: (ns: string, lease: string): Key => ['v1', ns, 'leaseres', lease],
  leaseResource: (ns: string, lease: string, type: string, id: string): Key => ['v1', ns, 'leaseres', lease, type, id],
  snapshots: (ns: string, snapshotter: string): Key => ['v1', ns, 'snapshot', snapshotter],
  snapshot: (ns: string, snapshotter: string, key: string): Key => ['v1', ns, 'snapshot', snapshotter, key],
  engineContainers: (ns: string): Key => ['v1', ns, 'engine-container'],
  engineContainer: (ns: string, id: string): Key => ['v1', ns, 'engine-container', id],
  engineName: (ns: string, name: string): Key => ['v1', ns, 'engine-name', name],
  volumes: (ns: string): Key => ['v1', ns, 'volume'],
  volume: (ns: string, name: string): Key => ['v1', ns, 'volume', name],
  volumeUsersAll: (ns: string): Key => ['v1', ns, 'volume-user'],
  volumeUsers: (ns: string, name: string): Key => ['v1', ns, 'volume-user', name],
  volumeUser: (ns: string, name: string, container: string): Key => ['v1', ns, 'volume-user', name, container],
};

/** Lease resource types, as containerd names them in Leases/ListResources. */
export const LEASE_RESOURCE = {
  content: 'content',
  ingest: 'ingests',
  snapshot: (snapshotter: string) => `snapshots/${snapshotter}`,
} as const;
