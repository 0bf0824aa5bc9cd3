import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

/**
 * A tar written as a stream: entries are added one at a time with their size known up front
 * (their bytes stream through, nothing is buffered whole), into `out` with its backpressure.
 */
export class TarWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;

  constructor(out: Writable) {
    this.done = pipeline(this.pack, out);
    this.done.catch(() => undefined); // reported by finish()
  }

  async add(name: string, size: number, data: Buffer | AsyncIterable<Buffer>): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const entry = this.pack.entry({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, (e) => (e ? reject(e) : resolve()));
      if (Buffer.isBuffer(data)) {
        entry.end(data);
        return;
      }
      pipeline(Readable.from(data), entry).catch(reject);
    });
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  abort(e: Error): void {
    this.pack.destroy(e);
  }
}
