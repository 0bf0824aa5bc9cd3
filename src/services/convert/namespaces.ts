import type { Labels } from '../../core/types';
import type { Namespace } from '../../metadata/namespaces';

export interface NamespaceProto {
  name: string;
  labels: Labels;
}

export const namespaceToProto = (n: Namespace): NamespaceProto => ({ name: n.name, labels: { ...n.labels } });
export const namespaceFromProto = (n: NamespaceProto): Namespace => ({ name: n.name, labels: { ...(n.labels ?? {}) } });
