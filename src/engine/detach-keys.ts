/**
 * Docker's detach keys (`--detach-keys`, default `ctrl-p,ctrl-q`): a comma-separated sequence of
 * single characters or `ctrl-<c>`. The scanner sits on the client's stdin: bytes that might
 * start the sequence are held back until it is complete (detach) or broken (they go through).
 */
import { invalidArgument } from '../core/errors';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return Buffer.alloc(0);
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const k = part.trim().toLowerCase();
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/.test(k)) {
      const c = k.charCodeAt(5);
      out.push(c >= 97 && c <= 122 ? c - 96 : c === 64 ? 0 : c - 64);
    } else throw invalidArgument(`invalid detach keys ${JSON.stringify(spec)}: use a-z, or ctrl- with a-z, @, ^, [, \\, ], _`);
  }
  return Buffer.from(out);
}

export class DetachScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to pass on now, and whether the sequence completed (the rest is then dropped). */
  feed(data: Buffer): { pass: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { pass: data, detach: false };
    const out: number[] = [];
    for (const b of data) {
      if (b === this.keys[this.matched]) {
        if (++this.matched === this.keys.length) return { pass: Buffer.from(out), detach: true };
        continue;
      }
      // Broken: what was held back goes through, and this byte may start the sequence anew.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
      this.matched = 0;
      if (b === this.keys[0]) this.matched = 1;
      else out.push(b);
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
