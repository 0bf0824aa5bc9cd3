import type * as grpc from '@grpc/grpc-js';
import { nsMetadata } from '../helpers/daemon';

/** A Content/Write session driven one request → one reply at a time. */
export class WriteSession {
  readonly stream: grpc.ClientDuplexStream<any, any>;
  private replies: any[] = [];
  private waiters: Array<(v: any) => void> = [];
  error?: grpc.ServiceError;
  ended = false;

  constructor(client: grpc.Client, md = nsMetadata()) {
    this.stream = (client as any).Write(md);
    this.stream.on('data', (m: any) => this.push(m));
    this.stream.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.flush();
    });
    // grpc-js emits 'error' only once the call's readable side ends; a client waiting for a reply
    // (its last write maybe still held by flow control) learns of a failure from the status.
    this.stream.on('status', (st: grpc.StatusObject) => {
      if (st.code === 0 || this.error) return;
      this.error = Object.assign(new Error(`${st.code} ${st.details}`), { code: st.code, details: st.details, metadata: st.metadata }) as grpc.ServiceError;
      this.flush();
    });
    this.stream.on('end', () => {
      this.ended = true;
      this.flush();
    });
  }

  private push(m: any) {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.replies.push(m);
  }

  private flush() {
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Next reply; rejects with the call's error if the stream failed instead. */
  next(): Promise<any> {
    if (this.replies.length) return Promise.resolve(this.replies.shift());
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.waiters.push((v) => (v === undefined && this.error ? reject(this.error) : resolve(v))));
  }

  async send(req: any): Promise<any> {
    this.stream.write(req);
    return this.next();
  }

  /** Half-closes and waits for the final status. */
  async close(): Promise<void> {
    if (this.ended || this.error) return;
    const done = new Promise<void>((r) => {
      this.stream.on('status', () => r());
    });
    this.stream.end();
    await done;
  }
}
