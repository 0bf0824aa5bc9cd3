import { codecOf, type AnyValue } from '../../api';
import type { ImageStore } from '../../api/gen/containerd/types/transfer/imagestore';
import type { ImageExportStream, ImageImportStream } from '../../api/gen/containerd/types/transfer/importexport';
import type { OCIRegistry } from '../../api/gen/containerd/types/transfer/registry';
import { invalidArgument, notImplemented } from '../../core/errors';

/** A Transfer source or destination (containerd.types.transfer), decoded from its Any. */
export type Endpoint =
  | { kind: 'OCIRegistry'; v: OCIRegistry }
  | { kind: 'ImageStore'; v: ImageStore }
  | { kind: 'ImageImportStream'; v: ImageImportStream }
  | { kind: 'ImageExportStream'; v: ImageExportStream };

const PKG = 'containerd.types.transfer.';
const KINDS = ['OCIRegistry', 'ImageStore', 'ImageImportStream', 'ImageExportStream'] as const;

export function endpoint(any: AnyValue | undefined, role: 'source' | 'destination'): Endpoint {
  if (!any || !any.type_url) throw invalidArgument(`TransferRequest.${role}: required`);
  const type = any.type_url.replace(/^.*\//, '');
  const kind = KINDS.find((k) => PKG + k === type);
  if (!kind)
    throw notImplemented(
      `transfer ${role} ${JSON.stringify(type.slice(0, 200))} is not supported by berth (it handles ${KINDS.map((k) => PKG + k).join(', ')})`,
    );
  try {
    return { kind, v: codecOf(PKG + kind).decode(any.value) } as Endpoint;
  } catch (e) {
    throw invalidArgument(`TransferRequest.${role}: not a valid ${type}: ${(e as Error).message}`);
  }
}
