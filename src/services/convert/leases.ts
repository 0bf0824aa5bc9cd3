import type { Labels } from '../../core/types';
import type { Lease, LeaseResource } from '../../metadata/leases';
import { type Timestamp, toTimestamp } from './common';

export interface LeaseProto {
  id: string;
  created_at: Timestamp | null;
  labels: Labels;
}

export interface ResourceProto {
  id: string;
  type: string;
}

export const leaseToProto = (l: Lease): LeaseProto => ({ id: l.id, created_at: toTimestamp(l.createdAt), labels: { ...l.labels } });
export const resourceToProto = (r: LeaseResource): ResourceProto => ({ id: r.id, type: r.type });
export const resourceFromProto = (r: ResourceProto): LeaseResource => ({ id: r.id ?? '', type: r.type ?? '' });
