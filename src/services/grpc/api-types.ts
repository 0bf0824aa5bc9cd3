import type { MethodName, RequestOf, ResponseOf, ServiceName } from '../../api';

/**
 * A service's request and response types by method, from the generated code:
 * `type T = Api<typeof IMAGES_SERVICE>` then `(req: T['Get']['req']): Promise<T['Get']['res']>`.
 * Requests arrive decoded by the generated decoder, so every field has its proto type and default:
 * handlers check only meaning (required messages, ids, digests, ranges), in convert/.
 */
export type Api<N extends ServiceName> = { [M in MethodName<N>]: { req: RequestOf<N, M>; res: ResponseOf<N, M> } };
