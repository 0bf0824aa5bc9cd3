import { canceled, errorKind } from '../core/errors';

/**
 * Retries with exponential backoff and full jitter, for what a retry can fix: dropped or refused
 * connections, timeouts, 5xx and 429 (Retry-After honoured up to the cap). Never 4xx.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 250, maxMs: 8000 };

/** Transport failures and timeouts (HttpClient reports them as Unavailable / DeadlineExceeded). */
export function isRetryable(e: unknown): boolean {
  const k = errorKind(e);
  return k === 'Unavailable' || k === 'DeadlineExceeded';
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504 || status === 500;
}

/** Delay before try `attempt + 1` (attempt counts from 1). */
export function backoffMs(p: RetryPolicy, attempt: number, retryAfter?: string): number {
  if (retryAfter) {
    const secs = Number(retryAfter);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, p.maxMs);
  }
  const cap = Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(canceled('canceled'));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(canceled('canceled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
