import type { Namespace } from '../../metadata/namespaces';
import type { Namespace as NamespaceProto } from '../../api/gen/containerd/services/namespaces/v1/namespace';

export type { NamespaceProto };

export const namespaceToProto = (n: Namespace): NamespaceProto => ({ name: n.name, labels: { ...n.labels } });
export const namespaceFromProto = (n: NamespaceProto): Namespace => ({ name: n.name, labels: { ...n.labels } });
