import type { Lease, LeaseResource } from '../../metadata/leases';
import type { Lease as LeaseProto, Resource as ResourceProto } from '../../api/gen/containerd/services/leases/v1/leases';
import { toTimestamp } from './common';

export type { LeaseProto, ResourceProto };

export const leaseToProto = (l: Lease): LeaseProto => ({ id: l.id, created_at: toTimestamp(l.createdAt), labels: { ...l.labels } });
export const resourceToProto = (r: LeaseResource): ResourceProto => ({ id: r.id, type: r.type });
export const resourceFromProto = (r: ResourceProto): LeaseResource => ({ id: r.id, type: r.type });
