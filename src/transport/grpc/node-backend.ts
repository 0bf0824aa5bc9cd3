/**
 * gRPC over node:http2 (nghttp2), behind the same dispatcher and call as the own backend: the
 * measured alternative (see the README's transport section). nghttp2 enforces the protocol and
 * its own flood limits; this adds what is gRPC's: handler slots (a client over the limit is
 * refused with REFUSED_STREAM: nghttp2's reader cannot be paused), the message budget, deadlines.
 */
import * as http2 from 'node:http2';
import { LOCAL_MAX_FRAME, MAX_HEADER_LIST, MAX_STREAMS } from '../h2/limits';
import type { CallPort } from './call';
import { type Dispatcher, HandlerSlots, requestHead } from './dispatch';
import { encodeGrpcMessage, MessageBudget } from './messages';

/** nghttp2's per-stream receive window (it has no BDP growth: fixed, as large as ingest needs). */
export const NODE_STREAM_WINDOW = 1 << 20;
const NODE_CONN_WINDOW = 64 << 20;

const { NGHTTP2_REFUSED_STREAM } = http2.constants;

class NodePort implements CallPort {
  constructor(private readonly stream: http2.ServerHttp2Stream) {}

  sendHeaders(): void {
    if (!this.stream.destroyed) this.stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  }

  sendMessage(pieces: Buffer[]): void {
    if (this.stream.destroyed) return;
    for (const p of pieces) this.stream.write(p);
  }

  congested(highWater: number): boolean {
    return this.stream.writableLength > highWater;
  }

  sendStatus(code: number, details: string, headersSent: boolean): void {
    const s = this.stream;
    if (s.destroyed) return;
    const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (details) trailers['grpc-message'] = encodeGrpcMessage(details);
    if (headersSent) {
      s.once('wantTrailers', () => s.sendTrailers(trailers));
      s.end();
    } else s.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
    // Anything the client still sends is read and dropped.
    s.resume();
  }

  consumed(): void {
    // nghttp2 gives bytes back to the window as JavaScript reads them.
  }

  setReading(on: boolean): void {
    if (on) this.stream.resume();
    else this.stream.pause();
  }
}

export function createNodeServer(dispatcher: Dispatcher, sessions: Set<http2.ServerHttp2Session>): http2.Http2Server {
  const server = http2.createServer({
    settings: {
      maxConcurrentStreams: MAX_STREAMS,
      initialWindowSize: NODE_STREAM_WINDOW,
      maxFrameSize: LOCAL_MAX_FRAME,
      maxHeaderListSize: MAX_HEADER_LIST,
      enablePush: false,
    },
  });
  const state = new WeakMap<http2.ServerHttp2Session, { slots: HandlerSlots; budget: MessageBudget }>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
    session.on('connect', () => session.setLocalWindowSize(NODE_CONN_WINDOW));
    state.set(session, { slots: new HandlerSlots(MAX_STREAMS, () => undefined), budget: new MessageBudget() });
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, _headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
    stream.on('error', () => undefined);
    const st = state.get(stream.session as http2.ServerHttp2Session)!;
    if (st.slots.full) {
      stream.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    const fields: Array<[string, string]> = [];
    for (let i = 0; i + 1 < raw.length; i += 2) fields.push([raw[i], raw[i + 1]]);
    const call = dispatcher.start(requestHead(fields), new NodePort(stream), st.slots, st.budget, (status) => {
      if (!stream.destroyed) stream.respond({ ':status': status }, { endStream: true });
    });
    if (!call) return;
    stream.on('data', (c: Buffer) => call.data(c));
    stream.on('end', () => call.remoteEnd());
    stream.on('drain', () => call.drain());
    stream.on('close', () => call.reset());
  });
  return server;
}
