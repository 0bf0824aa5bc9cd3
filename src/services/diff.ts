import type { ServiceImpl } from '../transport';
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

/** What Diff/Diff needs from the diff slice (src/diff LayerDiffer). */
export interface Differ {
  compare(
    ctx: Ctx,
    left: readonly Mount[],
    right: readonly Mount[],
    opts: { mediaType?: string; ref?: string; labels?: Record<string, string> },
  ): Promise<{ desc: Descriptor }>;
}

/** containerd's diff service: Apply (a layer onto mounts) and Diff (mounts to a layer). */
export function diffService(applier: Applier, log: Logger, differ?: Differ): ServiceImpl {
  return {
    ...(differ && {
      Diff: unary(log, 'Diff/Diff', async (req: T['Diff']['req'], ctx): Promise<T['Diff']['res']> => {
        const c = requireNamespace(ctx);
        const opts = { mediaType: req.media_type, ref: req.ref, labels: req.labels ?? {} };
        const { desc } = await differ.compare(c, req.left.map(mountFromProto), req.right.map(mountFromProto), opts);
        return { diff: descriptorToProto({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }) };
      }),
    }),
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
