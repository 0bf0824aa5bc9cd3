/**
 * gRPC over berth's own HTTP/2 connection code (h2/): each connection's new streams become calls
 * through the dispatcher, each stream is a CallPort. When every handler slot is taken, the
 * connection stops reading before the next new stream (grpc-go blocks its reader the same way),
 * so a client that resets streams cannot start more handlers than the stream limit.
 */
import type { Socket } from 'node:net';
import { H2Connection } from '../h2/connection';
import { encodeHeaders, type HeaderList } from '../h2/hpack';
import { MAX_STREAMS } from '../h2/limits';
import type { H2Stream } from '../h2/stream';
import type { CallPort } from './call';
import { type Dispatcher, HandlerSlots, requestHead } from './dispatch';
import { encodeGrpcMessage, MessageBudget } from './messages';

const RESPONSE_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']]);
const OK_TRAILERS_ONLY = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-status', '0'],
]);

/**
 * The trailer block (or a trailers-only response when no headers went out yet). grpc-message is
 * left out if the list would pass the client's SETTINGS_MAX_HEADER_LIST_SIZE.
 */
export function statusBlock(code: number, details: string, headersSent: boolean, peerMaxList = Infinity): Buffer {
  if (code === 0 && !details) return headersSent ? OK_TRAILERS : OK_TRAILERS_ONLY;
  const list: HeaderList = headersSent
    ? []
    : [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ];
  list.push(['grpc-status', String(code)]);
  const size = () => list.reduce((n, [k, v]) => n + k.length + v.length + 32, 0);
  if (details) {
    list.push(['grpc-message', encodeGrpcMessage(details)]);
    if (size() > peerMaxList) list.pop();
  }
  return encodeHeaders(list);
}

class StreamPort implements CallPort {
  constructor(
    private readonly conn: H2Connection,
    private readonly stream: H2Stream,
  ) {}

  sendHeaders(): void {
    this.stream.headers(RESPONSE_HEADERS, false);
  }

  sendMessage(pieces: Buffer[]): void {
    for (const b of pieces) this.stream.data(b);
  }

  congested(highWater: number): boolean {
    return this.conn.congested(this.stream, highWater);
  }

  sendStatus(code: number, details: string, headersSent: boolean): void {
    const block = statusBlock(code, details, headersSent, this.conn.peerMaxHeaderList);
    if (headersSent) this.stream.end(block);
    else this.stream.headers(block, true);
  }

  consumed(n: number): void {
    this.stream.credit(n);
  }

  setReading(): void {
    // Bytes that arrive while the call does not read wait in its backlog, uncredited: the
    // stream's window, not the socket, stops the client.
  }
}

/** Serves one accepted socket. */
export function serveOwn(socket: Socket, dispatcher: Dispatcher, onClose: (conn: H2Connection) => void): H2Connection {
  const budget = new MessageBudget();
  /** A new stream that found every slot taken (reading stopped right after its HEADERS). */
  let waiting: { stream: H2Stream; headers: HeaderList; ended: boolean } | undefined;
  const slots = new HandlerSlots(MAX_STREAMS, () => {
    if (!waiting || slots.full) return;
    const w = waiting;
    waiting = undefined;
    start(w.stream, w.headers);
    if (w.ended) w.stream.events?.end();
    conn.hold(false);
  });
  const start = (stream: H2Stream, headers: HeaderList) => {
    const port = new StreamPort(conn, stream);
    const call = dispatcher.start(requestHead(headers), port, slots, budget, (status) => stream.headers(encodeHeaders([[':status', String(status)]]), true));
    stream.events = call && {
      data: (c) => call.data(c),
      end: () => call.remoteEnd(),
      reset: () => call.reset(),
      drain: () => call.drain(),
    };
  };
  const conn = new H2Connection(socket, {
    onStream: (stream, headers) => {
      if (!slots.full) return start(stream, headers);
      const w = { stream, headers, ended: false };
      waiting = w;
      conn.hold(true);
      stream.events = {
        data: () => undefined, // none arrive: reading stops after this frame
        end: () => (w.ended = true),
        reset: () => {
          waiting = undefined;
          conn.hold(false);
        },
        drain: () => undefined,
      };
    },
    onClose: () => onClose(conn),
  });
  return conn;
}
