import type { ServiceImpl } from '../transport';
import type { Logger } from '../core/logger';
import { unary } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const VERSION_SERVICE = 'containerd.services.version.v1.Version' as const;

type T = Api<typeof VERSION_SERVICE>;

export interface VersionInfo {
  version: string;
  revision: string;
}

/** containerd.services.version.v1.Version. ctr warns (and still exits 0) when this differs from its own. */
export function versionService(log: Logger, info: VersionInfo): ServiceImpl {
  return {
    Version: unary(log, 'Version/Version', async (): Promise<T['Version']['res']> => ({ version: info.version, revision: info.revision })),
  };
}
