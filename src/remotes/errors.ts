import { type ErrorKind, SupervisorError } from '../core/errors';
import type { HttpResponse } from './http';

/**
 * Registry answers in the taxonomy. The distribution API's error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":…}]}`) goes into
 * the message; the kind comes from the code, else from the HTTP status:
 *   404, *_UNKNOWN                    → NotFound
 *   401, 403, UNAUTHORIZED, DENIED    → PermissionDenied (containerd leaves these unclassified,
 *                                       i.e. gRPC UNKNOWN; berth says what happened)
 *   400, *_INVALID                    → InvalidArgument
 *   405, UNSUPPORTED                  → NotImplemented
 *   416                               → OutOfRange
 *   429, TOOMANYREQUESTS, 5xx         → Unavailable (retried first)
 */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

const CODE_KINDS: Record<string, ErrorKind> = {
  BLOB_UNKNOWN: 'NotFound',
  MANIFEST_UNKNOWN: 'NotFound',
  NAME_UNKNOWN: 'NotFound',
  BLOB_UPLOAD_UNKNOWN: 'NotFound',
  UNAUTHORIZED: 'PermissionDenied',
  DENIED: 'PermissionDenied',
  UNSUPPORTED: 'NotImplemented',
  TOOMANYREQUESTS: 'Unavailable',
  DIGEST_INVALID: 'InvalidArgument',
  SIZE_INVALID: 'InvalidArgument',
  NAME_INVALID: 'InvalidArgument',
  TAG_INVALID: 'InvalidArgument',
  MANIFEST_INVALID: 'InvalidArgument',
  MANIFEST_UNVERIFIED: 'InvalidArgument',
  MANIFEST_BLOB_UNKNOWN: 'FailedPrecondition',
  BLOB_UPLOAD_INVALID: 'InvalidArgument',
  PAGINATION_NUMBER_INVALID: 'InvalidArgument',
  RANGE_INVALID: 'OutOfRange',
};

export function statusKind(status: number): ErrorKind {
  if (status === 404) return 'NotFound';
  if (status === 401 || status === 403) return 'PermissionDenied';
  if (status === 400) return 'InvalidArgument';
  if (status === 405) return 'NotImplemented';
  if (status === 416) return 'OutOfRange';
  if (status === 429 || status >= 500) return 'Unavailable';
  return 'Internal';
}

/** Parses a distribution error body; [] when it is not one. */
export function parseRegistryErrors(body: Buffer | string): RegistryErrorEntry[] {
  try {
    const j = JSON.parse(body.toString()) as { errors?: unknown };
    if (!Array.isArray(j.errors)) return [];
    return j.errors
      .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
      .map((e) => ({ code: String(e.code ?? ''), message: String(e.message ?? ''), ...(e.detail !== undefined ? { detail: e.detail } : {}) }));
  } catch {
    return [];
  }
}

function describe(entries: RegistryErrorEntry[], raw: string): string {
  if (entries.length) {
    return entries
      .map((e) => {
        const detail = e.detail === undefined ? '' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail);
        return `${e.message || e.code.toLowerCase()} (${e.code})${detail ? `: ${detail.slice(0, 300)}` : ''}`;
      })
      .join('; ');
  }
  const t = raw.trim().replace(/\s+/g, ' ');
  return t ? t.slice(0, 300) : '';
}

/**
 * Reads (at most 64 KiB of) an unexpected response and returns the error for it:
 * `<what>: <status>: <registry message>`.
 */
export async function responseError(what: string, res: HttpResponse, kindOverride?: ErrorKind): Promise<SupervisorError> {
  let raw = '';
  if (res.status !== 0) {
    try {
      raw = (await res.read(64 * 1024)).toString('utf8');
    } catch {
      res.discard();
    }
  }
  const entries = parseRegistryErrors(raw);
  const kind = kindOverride ?? entries.map((e) => CODE_KINDS[e.code]).find((k) => k !== undefined) ?? statusKind(res.status);
  const text = describe(entries, raw);
  return new SupervisorError(kind, `${what}: ${res.status} ${httpStatusText(res.status)}${text ? `: ${text}` : ''}`);
}

function httpStatusText(status: number): string {
  const t: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    416: 'Range Not Satisfiable',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return t[status] ?? '';
}
