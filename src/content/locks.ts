import { unavailable } from '../core/errors';

/**
 * In-memory ingest ref locks (containerd's content/local/locks.go): one writer per ref.
 * A second writer gets Unavailable and is expected to retry with backoff.
 */
export class RefLocks {
  private readonly held = new Map<string, number>();

  /** Takes the lock synchronously, so two concurrent openers can never both win. */
  acquire(ref: string): void {
    const since = this.held.get(ref);
    if (since !== undefined) {
      const secs = Math.round((Date.now() - since) / 1000);
      throw unavailable(`ref ${ref} locked for ${secs}s (since ${new Date(since).toISOString()}): unavailable`);
    }
    this.held.set(ref, Date.now());
  }

  release(ref: string): void {
    this.held.delete(ref);
  }

  isLocked(ref: string): boolean {
    return this.held.has(ref);
  }
}
