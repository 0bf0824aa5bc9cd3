/**
 * What a command gets: the client (made on first use, so `berth --help` never connects), the
 * global options, and output that respects backpressure (a `logs` of 100 MiB into a slow pipe
 * must not be buffered in memory).
 */
import { Client } from '../client';

export interface GlobalOptions {
  address?: string;
  namespace?: string;
}

type Out = NodeJS.WriteStream;

export class Cli {
  private made?: Client;
  constructor(readonly globals: GlobalOptions) {}

  get client(): Client {
    return (this.made ??= new Client({ address: this.globals.address, namespace: this.globals.namespace }));
  }

  get stdoutIsTTY(): boolean {
    return process.stdout.isTTY === true;
  }

  get stdinIsTTY(): boolean {
    return process.stdin.isTTY === true;
  }

  /** Writes to stdout; resolves once it may be written again. */
  out(data: string | Buffer): Promise<void> {
    return write(process.stdout, data);
  }

  err(data: string | Buffer): Promise<void> {
    return write(process.stderr, data);
  }

  close(): void {
    this.made?.close();
  }
}

function write(s: Out, data: string | Buffer): Promise<void> {
  if (s.write(data)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('error', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('error', done);
    s.on('close', done);
  });
}
