/**
 * The server side of gRPC as services see it, types only (as grpc-js's call-interface.ts): the
 * handler wrappers and the services depend on these and on no transport code, so either HTTP/2
 * backend (berth's own or node:http2) serves them unchanged.
 */
import type { EventEmitter } from 'node:events';

/** One method as the server registers it (src/api builds these from proto/). */
export interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
}

export interface StatusLike {
  code: number;
  details: string;
}

/** Call metadata as handlers read it (grpc-js's Metadata.get contract; -bin values are Buffers). */
export interface MetadataReader {
  get(key: string): Array<string | Buffer>;
  getMap(): Record<string, string | Buffer>;
}

/**
 * Splits a call's request bytes into framed gRPC messages (a 5-byte prefix and the body each),
 * returning those each piece completed. A handler that installs one sees the raw pieces as they
 * arrive (e.g. to stream a large field to disk) and hands on the messages it wants decoded.
 * Throwing an Error whose message says "larger than max" ends the call with RESOURCE_EXHAUSTED,
 * any other with INTERNAL.
 */
export interface RequestFramer {
  push(bytes: Buffer): Buffer[];
}

/**
 * One call. Reading is Readable-like: 'data' (one decoded request message), 'end', 'cancelled'
 * (the client reset the call, the deadline passed, or the call failed), 'close' (finished);
 * writing: write() returns false above the high-water mark, then 'drain'.
 */
export interface ServerCall<Req = unknown, Res = unknown> extends EventEmitter {
  /** The request of a unary or server-streaming call. */
  readonly request: Req;
  readonly metadata: MetadataReader;
  readonly cancelled: boolean;
  write(msg: Res): boolean;
  /**
   * A response message already serialized (the bytes responseSerialize would make): for a hot
   * stream that writes its messages itself. Returns as write() does.
   */
  writeEncoded(body: Buffer): boolean;
  /** Ends the call with OK. */
  end(): void;
  sendStatus(st: StatusLike): void;
  pause(): this;
  resume(): this;
  isPaused(): boolean;
  /**
   * The raw-pieces capability: from now on the call's request bytes go to the framer `make`
   * returns (it gets the receive limit) instead of the call's own decoder. Only at a message
   * boundary with nothing decoded and undelivered; false otherwise (messages arrive as before).
   */
  takeRequestBytes(make: (maxMessageBytes: number) => RequestFramer): boolean;
}

export type UnaryCallback = (err: unknown, value?: unknown) => void;

/**
 * Handlers. A handler that returns a promise keeps its call's handler slot (at most
 * MAX_STREAMS per connection) until the promise settles, even if the client reset the call.
 */
export type UnaryHandler = (call: ServerCall<any, any>, callback: UnaryCallback) => unknown;
export type StreamHandler = (call: ServerCall<any, any>) => unknown;
export type Handler = UnaryHandler | StreamHandler;
export type ServiceImpl = Record<string, Handler>;

export interface GrpcServerOptions {
  maxReceiveMessageLength: number;
  onError?: (what: string, e: unknown) => void;
  /** 'own' (berth's HTTP/2 code) or 'node' (node:http2); default BERTH_GRPC_SERVER or the chosen one. */
  backend?: 'own' | 'node';
}
