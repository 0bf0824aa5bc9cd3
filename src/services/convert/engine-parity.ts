/** berth.engine.v1 wire types ↔ the engine's volumes, files, history and prune results. */
import type { Change, PathStat } from '../../rootfs';
import type { HistoryRow } from '../../engine/history';
import type { PruneReport, SystemPruneReport } from '../../engine/prune';
import type { MountSpec } from '../../engine/mounts/types';
import type { RestartPolicy } from '../../engine/restart/policy';
import type { PruneResult, Volume } from '../../volumes';
import type * as pb from '../../api/gen/berth/engine/v1/engine';
import { toTimestamp } from './common';

export function volumeToProto(v: Volume): pb.Volume {
  return {
    name: v.name,
    driver: v.driver,
    mountpoint: v.mountpoint,
    created_at: toTimestamp(v.createdAt),
    labels: v.labels,
    options: v.options,
    scope: v.scope,
    users: v.users,
    anonymous: v.anonymous,
  };
}

export function pathStatToProto(s: PathStat): pb.PathStat {
  return { name: s.name, size: String(s.size), mode: s.mode, mtime: toTimestamp(s.mtime), link_target: s.linkTarget ?? '', uid: s.uid, gid: s.gid };
}

export function changeToProto(c: Change): pb.Change {
  return { kind: c.kind, path: c.path };
}

export function historyRowToProto(r: HistoryRow): pb.HistoryRow {
  return { id: r.id, created: r.created ? toTimestamp(r.created) : undefined, created_by: r.createdBy, tags: r.tags, size: String(r.size), comment: r.comment };
}

export function pruneReportToProto(r: PruneReport): pb.PruneResponse {
  return { deleted: r.deleted, space_reclaimed: String(r.spaceReclaimed) };
}

export function volumePruneToProto(r: PruneResult): pb.PruneVolumesResponse {
  return { volumes_deleted: r.volumesDeleted, space_reclaimed: String(r.spaceReclaimed) };
}

export function systemPruneToProto(r: SystemPruneReport): pb.SystemPruneResponse {
  return {
    containers: pruneReportToProto(r.containers),
    images: pruneReportToProto(r.images),
    networks_deleted: r.networks,
    volumes: r.volumes ? volumePruneToProto(r.volumes) : undefined,
    space_reclaimed: String(r.spaceReclaimed),
  };
}

export function restartPolicyToProto(p: RestartPolicy): pb.RestartPolicy {
  return { name: p.name, maximum_retry_count: p.maximumRetryCount };
}

/** Docker's MountPoint: a volume's Source is its directory (`dataDir`), a bind's the host path. */
export function mountPointToProto(m: MountSpec, dataDir: (name: string) => string): pb.MountPoint {
  return {
    type: m.type,
    name: m.type === 'volume' ? m.source : '',
    source: m.type === 'volume' ? dataDir(m.source) : m.source,
    destination: m.target,
    driver: m.type === 'volume' ? (m.volumeDriver ?? 'local') : '',
    mode: m.mode ?? '',
    rw: !m.readOnly,
    propagation: m.propagation ?? (m.type === 'bind' ? 'rprivate' : ''),
  };
}
