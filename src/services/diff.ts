import type { ServiceImpl } from '../transport/grpc/server';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Descriptor, Mount } from '../core/types';
import { descriptorToProto, mountFromProto } from './convert/common';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const DIFF_SERVICE = 'containerd.services.diff.v1.Diff' as const;

/** What the service needs from the diff slice (src/diff LayerApplier). */
export interface Applier {
  apply(ctx: Ctx, desc: Descriptor, mounts: readonly Mount[]): Promise<Descriptor>;
}

type T = Api<typeof DIFF_SERVICE>;

/** containerd's diff service. Diff/Diff is not implemented yet (UNIMPLEMENTED via the registry). */
export function diffService(applier: Applier, log: Logger): ServiceImpl {
  return {
    // Payloads carry processor options (e.g. stream processors); berth has none to honour.
    Apply: unary(log, 'Diff/Apply', async (req: T['Apply']['req'], ctx): Promise<T['Apply']['res']> => {
      const c = requireNamespace(ctx);
      const { diff, mounts } = req;
      if (!diff || !diff.digest) throw invalidArgument('diff apply: descriptor required');
      const size = Number(diff.size);
      if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`diff apply: invalid size ${diff.size}`);
      const applied = await applier.apply(c, { mediaType: diff.media_type, digest: diff.digest, size }, mounts.map(mountFromProto));
      return { applied: descriptorToProto({ mediaType: applied.mediaType, digest: applied.digest, size: applied.size }) };
    }),
  };
}
