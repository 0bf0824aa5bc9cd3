import type { ServiceImpl } from '../transport';
import { parseFilters, type Adaptor } from '../core/filters';
import type { Logger } from '../core/logger';
import { unary } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const INTROSPECTION_SERVICE = 'containerd.services.introspection.v1.Introspection' as const;

type T = Api<typeof INTROSPECTION_SERVICE>;

/** Structurally the daemon's PluginInfo (services never import daemon/). */
export interface PluginEntry {
  type: string;
  id: string;
  requires?: string[];
  exports?: Record<string, string>;
  capabilities?: string[];
}

/**
 * Adaptors over one plugin: `type`, `id` (as containerd) and `capabilities` (containerd leaves it a
 * TODO): a plugin is tried once per capability, so `capabilities==x` matches if any capability is x.
 */
function pluginAdaptors(p: PluginEntry): Adaptor[] {
  const caps = p.capabilities?.length ? p.capabilities : [undefined];
  return caps.map((cap) => (path) => {
    switch (path[0]) {
      case 'type':
        return path.length === 1 ? p.type || undefined : undefined;
      case 'id':
        return path.length === 1 ? p.id || undefined : undefined;
      case 'capabilities':
        return path.length === 1 ? cap : undefined;
      default:
        return undefined;
    }
  });
}

/**
 * containerd.services.introspection.v1.Introspection. `plugins()` is read at call time: slices
 * wired later append their entries. `uuid` is the daemon's stable id (required by `ctr version`).
 */
export function introspectionService(log: Logger, deps: { plugins: () => readonly PluginEntry[]; uuid: string }): ServiceImpl {
  return {
    Plugins: unary(log, 'Introspection/Plugins', async (req: T['Plugins']['req']): Promise<T['Plugins']['res']> => {
      const filter = parseFilters(req.filters);
      const plugins = deps
        .plugins()
        .filter((p) => pluginAdaptors(p).some((a) => filter(a)))
        .map((p) => ({
          type: p.type,
          id: p.id,
          requires: p.requires ?? [],
          platforms: [],
          exports: p.exports ?? {},
          capabilities: p.capabilities ?? [],
          init_err: undefined,
        }));
      return { plugins };
    }),
    Server: unary(log, 'Introspection/Server', async (): Promise<T['Server']['res']> => ({ uuid: deps.uuid })),
  };
}
