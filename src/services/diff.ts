import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Descriptor, Mount } from '../core/types';
import { descriptorToProto, mountFromProto } from './convert/common';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';

export const DIFF_SERVICE = 'containerd.services.diff.v1.Diff';

/** What the service needs from the diff slice (src/diff LayerApplier). */
export interface Applier {
  apply(ctx: Ctx, desc: Descriptor, mounts: readonly Mount[]): Promise<Descriptor>;
}

const DescriptorSchema = z.object({
  media_type: z.string().default(''),
  digest: z.string().default(''),
  size: z.union([z.string(), z.number()]).default('0'),
  annotations: z.record(z.string(), z.string()).nullish(),
});
const MountSchema = z.object({
  type: z.string().default(''),
  source: z.string().default(''),
  target: z.string().default(''),
  options: z.array(z.string()).default([]),
});
export const ApplyRequestSchema = z.object({
  diff: DescriptorSchema.nullish(),
  mounts: z.array(MountSchema).default([]),
  // Payloads carry processor options (e.g. stream processors); berth has none to honour.
  payloads: z.record(z.string(), z.unknown()).nullish(),
});

/** What Diff/Diff needs from the diff slice (src/diff LayerDiffer). */
export interface Differ {
  compare(ctx: Ctx, left: readonly Mount[], right: readonly Mount[], opts: { mediaType?: string; ref?: string; labels?: Record<string, string> }): Promise<{ desc: Descriptor }>;
}

export const DiffRequestSchema = z.object({
  left: z.array(MountSchema).default([]),
  right: z.array(MountSchema).default([]),
  media_type: z.string().default(''),
  ref: z.string().default(''),
  labels: z.record(z.string(), z.string()).nullish(),
});

/** containerd's diff service: Apply (a layer onto mounts) and Diff (mounts to a layer). */
export function diffService(applier: Applier, log: Logger, differ?: Differ): ServiceImpl {
  return {
    ...(differ && {
      Diff: unary(log, 'Diff/Diff', async (req, ctx) => {
        const c = requireNamespace(ctx);
        const r = parse(DiffRequestSchema, req);
        const { desc } = await differ.compare(c, r.left.map(mountFromProto), r.right.map(mountFromProto), { mediaType: r.media_type, ref: r.ref, labels: r.labels ?? {} });
        return { diff: descriptorToProto({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }) };
      }),
    }),
    Apply: unary(log, 'Diff/Apply', async (req, ctx) => {
      const c = requireNamespace(ctx);
      const { diff, mounts } = parse(ApplyRequestSchema, req);
      if (!diff || !diff.digest) throw invalidArgument('diff apply: descriptor required');
      const size = Number(diff.size);
      if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`diff apply: invalid size ${diff.size}`);
      const applied = await applier.apply(c, { mediaType: diff.media_type, digest: diff.digest, size }, mounts.map(mountFromProto));
      return { applied: descriptorToProto({ mediaType: applied.mediaType, digest: applied.digest, size: applied.size }) };
    }),
  };
}
