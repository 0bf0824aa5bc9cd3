import type { WriteTx } from './db';
import { keys } from './schema';

export interface NamespaceRecord {
  labels: Record<string, string>;
}

/** A namespace comes into existence implicitly on the first write inside it (as in containerd). */
export async function ensureNamespace(tx: WriteTx, ns: string): Promise<void> {
  if (!(await tx.has(keys.namespace(ns)))) tx.put(keys.namespace(ns), { labels: {} } satisfies NamespaceRecord);
}
