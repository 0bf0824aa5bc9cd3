import type { AnyValue } from '../api/proto';

/** An event as containerd's Envelope carries it; `event` is a protobuf Any with a bare type URL. */
export interface Envelope {
  timestamp: Date;
  namespace: string;
  topic: string;
  event: AnyValue;
}

/** What stores and services need to emit events. Topics look like `/images/create`. */
export interface EventPublisher {
  /** Encodes `payload` as the proto message `typeName` and publishes it. Never throws. */
  publish(namespace: string, topic: string, typeName: string, payload: Record<string, unknown>): void;
}
