import { codecOf } from '../../api';
import type { Progress as ProgressProto } from '../../api/gen/containerd/types/transfer/progress';
import { bare, type AnyStream } from './streams';

/**
 * One progress event of a transfer, as berthd sends it (containerd's transfer Progress). `event`
 * is one of: `resolving`, `resolved` (name: the reference), `waiting`, `downloading`,
 * `resuming`, `complete`, `exists` (already in the content store), `uploading`, `mounted`
 * (a cross-repository mount), `unpacking`, `unpacked` (name: the chain ID, desc: the layer),
 * `importing` (name: an archive path), `exporting`, `saved` (name: an image name, desc: its
 * target). Blob events are named by digest, with `parents` their index/manifest digests (the
 * image name for the root); `progress`/`total` count bytes.
 */
export interface Progress {
  event: string;
  name: string;
  parents: string[];
  progress: number;
  total: number;
  desc?: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
}

const PROGRESS = 'containerd.types.transfer.Progress';

export function progressFromProto(p: ProgressProto): Progress {
  return {
    event: p.event,
    name: p.name,
    parents: p.parents,
    progress: Number(p.progress),
    total: Number(p.total),
    ...(p.desc
      ? {
          desc: {
            mediaType: p.desc.media_type,
            digest: p.desc.digest,
            size: Number(p.desc.size),
            ...(Object.keys(p.desc.annotations).length ? { annotations: p.desc.annotations } : {}),
          },
        }
      : {}),
  };
}

/** Reads progress events off `s` until the server ends it, calling `fn` for each in order. */
export async function readProgress(s: AnyStream, fn: (p: Progress) => void): Promise<void> {
  const codec = codecOf(PROGRESS);
  for (let m = await s.recv(); m; m = await s.recv()) {
    if (bare(m.type_url) === PROGRESS) fn(progressFromProto(codec.decode(m.value) as ProgressProto));
  }
}

/**
 * Progress as an async iterator, queued from the operation's start: byte counts of one blob
 * coalesce to the latest while the reader is behind, every other event is kept, so a reader
 * that comes late or reads slowly sees every step without the queue growing with the bytes.
 */
export class ProgressQueue implements AsyncIterable<Progress> {
  private readonly queue: Progress[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: unknown;

  readonly push = (p: Progress): void => {
    if (this.ended) return;
    if (p.event === 'downloading' || p.event === 'uploading') {
      const i = this.queue.findIndex((q) => q.event === p.event && q.name === p.name);
      if (i >= 0) this.queue.splice(i, 1);
    }
    this.queue.push(p);
    this.poke();
  };

  end(failure?: unknown): void {
    this.ended = true;
    this.failure = failure;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Progress> {
    for (;;) {
      while (this.queue.length) yield this.queue.shift()!;
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}
