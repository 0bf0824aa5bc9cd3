import { statfsSync } from 'node:fs';
import { resourceExhausted } from '../errors';

/**
 * Space berthd keeps free on the filesystem of its root while it writes content and unpacks
 * layers: its metadata DB (LevelDB) must still be able to commit the deletions that give space
 * back (a lease removed, an ingest aborted, a snapshot removed) when a pull fills the disk. An
 * append to LevelDB's log that fails half-way leaves a torn record, which it may drop on the next
 * open together with the rest of that 32 KiB log block, and a failed memtable flush fails every
 * later write until the DB is reopened. (containerd's bolt file has free pages to delete into.)
 */
export const RESERVED_FREE_BYTES = 8 << 20;

const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/**
 * Refuses writes that would leave less than `minFree` bytes free on the filesystem of `dir`
 * (ResourceExhausted, naming the lack of space). statfs is asked again when the last answer is
 * old or when what was written since could have eaten an eighth of the margin, so on a roomy disk
 * it runs a few times a second at most. An eighth, not more: berth-unpack's extractions write at
 * the same time under the same rule (its --min-free), and all their shares must fit the margin.
 */
const SHARE = 8;

export class SpaceGuard {
  private free = 0;
  private at = -Infinity;
  private spent = 0;

  constructor(
    private readonly dir: string,
    readonly minFree = RESERVED_FREE_BYTES,
    private readonly maxAgeMs = 100,
  ) {}

  /** Accounts for `bytes` about to be written for `what`; throws ResourceExhausted if they do not fit. */
  take(bytes: number, what: string): void {
    const now = performance.now();
    if (now - this.at > this.maxAgeMs || this.spent + bytes > (this.free - this.minFree) / SHARE) this.refresh(now);
    if (this.free - this.spent - bytes < this.minFree) {
      throw resourceExhausted(
        `${what}: no space left on device: ${MiB(Math.max(0, this.free - this.spent))} free on the filesystem of ${this.dir}, ` +
          `and berthd keeps ${MiB(this.minFree)} free for its metadata`,
      );
    }
    this.spent += bytes;
  }

  private refresh(now: number): void {
    try {
      const s = statfsSync(this.dir);
      this.free = s.bavail * s.bsize;
    } catch {
      this.free = Infinity; // cannot tell: let the write itself fail if it must
    }
    this.at = now;
    this.spent = 0;
  }
}
