import type { ServerCall, ServiceImpl } from '../transport';
import type { ContentStore, Writer } from '../content/types';
import { validateRef } from '../content/paths';
import type { Ctx } from '../core/context';
import { type Digest, validateDigest } from '../core/digest';
import { SupervisorError, alreadyExists, invalidArgument, outOfRange } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import { nonNegative, required, toTimestamp } from './convert/common';
import { type InfoProto, infoToProto, statusToProto } from './convert/content';
import type { WriteContentRequest, WriteContentResponse } from '../api/gen/containerd/services/content/v1/content';
import type { Api } from './grpc/api-types';
import { requireNamespace } from './grpc/context';
import { bidi, serverStream, unary, writeMessage } from './grpc/handlers';
import { requests } from './grpc/requests';
import { WriteTap } from './content-write-tap';

export const CONTENT_SERVICE = 'containerd.services.content.v1.Content' as const;
const LIST_BATCH = 100;

type T = Api<typeof CONTENT_SERVICE>;
type WriteRequest = WriteContentRequest;

function digestArg(d: string): string {
  if (!d) throw invalidArgument('digest: required');
  return validateDigest(d);
}

/** containerd's contentserver: a thin adapter over the namespaced ContentStore. */
/** `onDeleted` runs after a successful Delete (the daemon schedules a GC there, as containerd marks its DB dirty). */
export function contentService(store: ContentStore, log: Logger, events?: () => EventPublisher | undefined, onDeleted?: () => void): ServiceImpl {
  const svc = (m: string) => `Content/${m}`;
  return {
    Info: unary(log, svc('Info'), async (req: T['Info']['req'], ctx): Promise<T['Info']['res']> => ({
      info: infoToProto(await store.info(requireNamespace(ctx), digestArg(req.digest))),
    })),

    Update: unary(log, svc('Update'), async (req: T['Update']['req'], ctx): Promise<T['Update']['res']> => {
      const { digest, labels } = required(req.info, 'info: required');
      const info = await store.update(requireNamespace(ctx), { digest: digestArg(digest), labels }, req.update_mask);
      return { info: infoToProto(info) };
    }),

    List: serverStream(log, svc('List'), async (req: T['List']['req'], ctx, call) => {
      let batch: InfoProto[] = [];
      for await (const i of store.walk(requireNamespace(ctx), req.filters)) {
        batch.push(infoToProto(i));
        if (batch.length >= LIST_BATCH) {
          await writeMessage(call, { info: batch });
          batch = [];
        }
      }
      if (batch.length) await writeMessage(call, { info: batch });
    }),

    Delete: unary(log, svc('Delete'), async (req: T['Delete']['req'], ctx): Promise<T['Delete']['res']> => {
      const c = requireNamespace(ctx);
      const digest = digestArg(req.digest);
      await store.delete(c, digest);
      events?.()?.publish(c.ns, '/content/delete', 'containerd.events.ContentDelete', { digest });
      onDeleted?.();
      return {};
    }),

    Read: serverStream(log, svc('Read'), async (req: T['Read']['req'], ctx, call) => {
      const c = requireNamespace(ctx);
      const digest = digestArg(req.digest);
      let offset = nonNegative('offset', req.offset);
      const size = nonNegative('size', req.size);
      for await (const data of store.read(c, digest, { offset, size })) {
        if (c.signal?.aborted) return;
        await writeMessage(call, { offset: String(offset), data });
        offset += data.length;
      }
    }),

    Status: unary(log, svc('Status'), async (req: T['Status']['req'], ctx): Promise<T['Status']['res']> => ({
      status: statusToProto(await store.status(requireNamespace(ctx), validateRef(req.ref))),
    })),

    ListStatuses: unary(log, svc('ListStatuses'), async (req: T['ListStatuses']['req'], ctx): Promise<T['ListStatuses']['res']> => ({
      statuses: (await store.listStatuses(requireNamespace(ctx), req.filters)).map(statusToProto),
    })),

    Abort: unary(log, svc('Abort'), async (req: T['Abort']['req'], ctx): Promise<T['Abort']['res']> => {
      await store.abort(requireNamespace(ctx), validateRef(req.ref));
      return {};
    }),

    Write: bidi(log, svc('Write'), async (ctx, call: ServerCall<WriteRequest, WriteContentResponse>) => {
      await writeSession(store, requireNamespace(ctx), call);
    }),
  };
}

/** Bytes of WRITE data a session keeps in flight (received, not yet in the file) before it stops reading. */
export const WRITE_PIPELINE_BYTES = 32 << 20;

/**
 * containerd's Write session (contentserver.go): the first message names the ref and opens
 * (locks) the writer; every request gets exactly one reply echoing its action. An expected
 * digest that is already present ends the stream with AlreadyExists. Ending the stream without
 * COMMIT releases the lock and leaves a resumable ingest.
 *
 * WRITEs are pipelined: a WRITE is hashed and queued at once and the next request is read while
 * its data goes to the file; its reply (in order, with the offset and digest as of that chunk)
 * is sent once the data is in the file. At most WRITE_PIPELINE_BYTES are in flight. STAT, COMMIT,
 * a restart at offset 0 and errors first wait for every earlier reply.
 */
async function writeSession(store: ContentStore, ctx: Ctx, call: ServerCall<WriteRequest, WriteContentResponse>): Promise<void> {
  const tapped = WriteTap.install(call);
  const it = requests(call);
  const first = await it.next();
  if (first.done) return;
  let req = first.value;
  let index = 0;
  const ref = validateRef(req.ref);
  const tap = tapped?.withRef(ref);
  let expected = req.expected ? validateDigest(req.expected) : '';
  let total = nonNegative('total', req.total);
  const w: Writer = await store.writer(ctx, { ref, total, expected: expected || undefined });
  // Replies not yet sent, oldest first; `replying` sends them in order.
  const inflight: Array<{ bytes: number; done: Promise<void> }> = [];
  let inflightBytes = 0;
  let failure: unknown;
  // Rejects when a pipelined write fails: a client waiting for that write's reply sends nothing
  // more, so the wait for its next request must end with the error too.
  let onFailure!: (e: unknown) => void;
  const failed = new Promise<never>((_, reject) => (onFailure = reject));
  failed.catch(() => undefined);
  let tail: Promise<void> = Promise.resolve();
  const settle = async () => {
    await tail;
    if (failure) throw failure;
  };
  /**
   * Sends `reply` after every earlier reply, with the digest `written` resolves to. A streamed
   * WRITE's reply has none (its hash may still be pending; the field is optional, "if present", in
   * containerd's API and ctr ignores it); STAT and COMMIT always carry the digest.
   */
  const pipeline = (written: Promise<Digest | void>, bytes: number, reply: WriteContentResponse, withDigest: boolean) => {
    const prev = tail;
    const done = (async () => {
      const d = await written;
      if (withDigest) reply.digest = d || w.digest();
      await prev;
      if (!failure) await writeMessage(call, reply);
    })().catch((e) => {
      failure ??= e;
      onFailure(failure);
    });
    inflight.push({ bytes, done });
    inflightBytes += bytes;
    tail = done;
    void done.then(() => {
      inflight.shift();
      inflightBytes -= bytes;
    });
  };
  try {
    for (;;) {
      if (failure) throw failure;
      const st = await w.status();
      let offset = st.offset;
      if (req.expected) {
        expected = validateDigest(req.expected);
        const have = await store.info(ctx, expected).then(
          () => true,
          () => false,
        );
        if (have) {
          await settle();
          await w.close();
          await store.abort(ctx, ref).catch(() => undefined);
          throw alreadyExists(`content ${expected}: already exists`);
        }
      }
      const reqTotal = nonNegative('total', req.total);
      if (reqTotal > 0) total = reqTotal;
      const reply: WriteContentResponse = {
        action: req.action,
        started_at: undefined,
        updated_at: undefined,
        offset: String(offset),
        total: String(total || st.total),
        digest: '',
      };
      const data = req.data;
      let queued = false;
      const rec = tap?.take(index);
      if (rec) {
        // The data went to the writer as it arrived (the decoded request has none): check the
        // request is what the tap saw.
        // A failing writer's error is the answer (e.g. ResourceExhausted); a malformed message is InvalidArgument.
        if (rec.writerError instanceof SupervisorError) throw rec.writerError;
        if (rec.broken) throw invalidArgument(`ingest ref ${ref}: ${rec.broken}`);
        if (
          req.action !== 'WRITE' ||
          !rec.done ||
          req.expected ||
          (req.ref && req.ref !== ref) ||
          (data?.length ?? 0) !== 0 ||
          nonNegative('offset', req.offset) !== rec.offset
        ) {
          throw invalidArgument(`ingest ref ${ref}: streamed WRITE does not match its request`);
        }
      }
      switch (rec ? 'STREAMED' : req.action) {
        case 'STREAMED':
          offset = rec!.offset + rec!.length;
          reply.offset = String(offset);
          queued = true;
          pipeline(rec!.done!, rec!.length, reply, false);
          break;
        case 'STAT':
          await settle();
          reply.digest = w.digest();
          reply.started_at = toTimestamp(st.startedAt);
          reply.updated_at = toTimestamp(st.updatedAt);
          break;
        case 'WRITE':
        case 'COMMIT': {
          const reqOffset = nonNegative('offset', req.offset);
          if (reqOffset > 0 && reqOffset !== offset) throw outOfRange(`ingest ref ${ref}: write @${reqOffset} must occur at current offset ${offset}`);
          if (reqOffset === 0 && offset > 0) {
            await settle();
            await w.truncate(0);
            offset = 0;
          }
          if (req.action === 'WRITE' && data && data.length > 0) {
            // Pipelined: queue the chunk, reply once it is in the file, read on meanwhile.
            offset += data.length;
            reply.offset = String(offset);
            queued = true;
            pipeline(w.write(data), data.length, reply, true);
            break;
          }
          await settle();
          if (data && data.length > 0) {
            await w.write(data);
            offset += data.length;
          }
          reply.offset = String(offset);
          if (req.action === 'COMMIT') {
            const labels = Object.keys(req.labels).length ? req.labels : undefined;
            reply.digest = await w.commit(total, expected || undefined, labels);
            const after = total || offset;
            reply.offset = String(after);
            reply.total = String(total || after);
          } else reply.digest = w.digest();
          break;
        }
        default:
          throw invalidArgument(`ingest ref ${ref}: unknown write action ${String(req.action)}`);
      }
      if (!queued) await writeMessage(call, reply);
      if (req.action === 'COMMIT') return;
      if (tap) {
        tap.handled = index + 1;
        tap.target = w.streamTarget?.();
      }
      while (inflightBytes > WRITE_PIPELINE_BYTES && inflight.length) await inflight[0]!.done;
      const next = await Promise.race([it.next(), failed]);
      if (next.done) {
        await settle();
        return;
      }
      req = next.value;
      index++;
      if (req.ref && req.ref !== ref)
        throw invalidArgument(`ingest ref ${ref}: ref changed to ${JSON.stringify(req.ref.slice(0, 80))} within one Write stream`);
    }
  } catch (e) {
    // Earlier replies go out before the error ends the stream.
    await tail;
    throw e;
  } finally {
    await w.close().catch(() => undefined);
  }
}
