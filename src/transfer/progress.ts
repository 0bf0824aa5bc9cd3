import type { Progress, ProgressFn } from './types';

/**
 * Progress as an async iterator, for callers that stream it (the Transfer service's progress
 * stream): `const p = progressStream(); op({ onProgress: p.push }).finally(p.end); for await (…)`.
 * Downloads report often; a slow reader sees the latest `downloading` per blob rather than a
 * backlog (older ones are dropped), every other event is kept.
 */
export function progressStream(): { push: ProgressFn; end(): void; [Symbol.asyncIterator](): AsyncIterator<Progress> } {
  const queue: Progress[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push: (p) => {
      if (ended) return;
      if (p.event === 'downloading' || p.event === 'uploading') {
        const i = queue.findIndex((q) => q.event === p.event && q.name === p.name);
        if (i >= 0) queue.splice(i, 1);
      }
      queue.push(p);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}
