import type { Envelope } from '../../events/types';
import type { Envelope as EnvelopeProto } from '../../api/gen/containerd/services/events/v1/events';
import { fromTimestamp, toTimestamp } from './common';

export type { EnvelopeProto };

export function envelopeToProto(e: Envelope): EnvelopeProto {
  return { timestamp: toTimestamp(e.timestamp), namespace: e.namespace, topic: e.topic, event: e.event };
}

/** Fields may be empty (validated by the exchange); a zero timestamp becomes undefined. */
export function envelopeFromProto(p: EnvelopeProto): Partial<Envelope> {
  return { timestamp: fromTimestamp(p.timestamp), namespace: p.namespace, topic: p.topic, event: p.event };
}
