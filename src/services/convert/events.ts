import type { Envelope } from '../../events/types';
import type { AnyValue } from '../../api/proto';
import { fromTimestamp, toTimestamp, type Timestamp } from './common';

/** containerd.services.events.v1.Envelope as proto-loader gives it. */
export interface EnvelopeProto {
  timestamp: Timestamp | null;
  namespace: string;
  topic: string;
  event: AnyValue | null;
}

export function envelopeToProto(e: Envelope): EnvelopeProto {
  return { timestamp: toTimestamp(e.timestamp), namespace: e.namespace, topic: e.topic, event: e.event };
}

/** Fields may be missing (validated by the exchange); a zero timestamp becomes undefined. */
export function envelopeFromProto(p: Partial<EnvelopeProto> | null | undefined): Partial<Envelope> {
  return {
    timestamp: fromTimestamp(p?.timestamp ?? undefined),
    namespace: p?.namespace ?? '',
    topic: p?.topic ?? '',
    event: p?.event ? { type_url: p.event.type_url ?? '', value: Buffer.from(p.event.value ?? []) } : undefined,
  };
}
