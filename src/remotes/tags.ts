import { failedPrecondition, invalidArgument, isNotFound, notFound } from '../core/errors';
import { isValidTag, repositoryName } from '../core/reference';
import { responseError } from './errors';
import type { Repository } from './repository';

/** One page of `tags/list` is refused past this (a tag is at most 128 bytes; Docker Hub pages hold 100). */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/** Pages followed before giving up: a registry whose Links never end must not hold the daemon. */
const MAX_PAGES = 10_000;
/** Tags kept in all: 1M tags of ≤128 bytes is the most a caller is asked to hold. */
const MAX_TAGS = 1_000_000;

export interface ListTagsOptions {
  /** `n=` on the first request (the distribution spec's page size); the registry's default when unset. */
  pageSize?: number;
  signal?: AbortSignal;
}

/**
 * The target of a `Link` header's `rel="next"` entry (RFC 8288, as the distribution spec pages
 * `tags/list`), resolved against the URL the response came from; undefined when there is none.
 * Several links may share one header (comma-separated), and `rel` may list several relation
 * types (`rel="prev next"`).
 */
export function nextLink(header: string | undefined, base: URL | string): URL | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const params = m[2]!.split(';').map((p) => p.trim());
    const rel = params.find((p) => /^rel\s*=/i.test(p));
    if (!rel) continue;
    const value = rel
      .replace(/^rel\s*=\s*/i, '')
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (value.split(/\s+/).includes('next')) {
      try {
        return new URL(m[1]!.trim(), base);
      } catch {
        throw invalidArgument(`Link header ${JSON.stringify(header.slice(0, 300))}: the next page's URL is not a URL`);
      }
    }
  }
  return undefined;
}

/**
 * Every tag of the repository: `GET /v2/<name>/tags/list` (with `n=` when asked), then each
 * `Link: <…>; rel="next"` page as the registry wrote it, in the registry's order, each tag once.
 * An unknown repository is NotFound; a Link off the registry's own origin, a page that repeats,
 * or a tag outside the reference grammar is refused (FailedPrecondition) rather than followed
 * or passed on.
 */
export async function listTags(repo: Repository, o: ListTagsOptions = {}): Promise<string[]> {
  const name = repositoryName(repo.ref);
  const what = `list tags of ${name}`;
  if (o.pageSize !== undefined && (!Number.isSafeInteger(o.pageSize) || o.pageSize < 1))
    throw invalidArgument(`${what}: page size ${o.pageSize} must be a positive integer`);
  const origin = new URL(repo.host.origin).origin;
  let url: URL | undefined = new URL(`/v2/${repo.name}/tags/list${o.pageSize ? `?n=${o.pageSize}` : ''}`, origin);
  const seen = new Set<string>();
  const tags = new Set<string>();
  for (let page = 1; url; page++) {
    if (page > MAX_PAGES) throw failedPrecondition(`${what}: the registry's pages did not end after ${MAX_PAGES}`);
    if (url.origin !== origin) throw failedPrecondition(`${what}: the registry's next page ${url.href} is not on ${origin}`);
    if (seen.has(url.href)) throw failedPrecondition(`${what}: the registry sent page ${url.href} again`);
    seen.add(url.href);
    const res = await repo.send({ method: 'GET', path: url, headers: { accept: 'application/json' }, signal: o.signal, what });
    if (res.status === 404) {
      const e = await responseError(what, res);
      throw isNotFound(e) ? e : notFound(e.message, { cause: e });
    }
    if (res.status !== 200) throw await responseError(what, res);
    const next = nextLink(res.header('link'), res.url);
    for (const t of pageTags(await res.read(MAX_PAGE_BYTES), what)) {
      tags.add(t);
      if (tags.size > MAX_TAGS) throw failedPrecondition(`${what}: more than ${MAX_TAGS} tags`);
    }
    url = next;
  }
  return [...tags];
}

/** The `tags` of a `{"name": …, "tags": […]}` page; null (a repository whose tags were all deleted) is none. */
function pageTags(body: Buffer, what: string): string[] {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw failedPrecondition(`${what}: the registry's answer is not JSON: ${JSON.stringify(body.subarray(0, 120).toString('utf8'))}`);
  }
  const list = (j as { tags?: unknown } | null)?.tags;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) throw failedPrecondition(`${what}: the registry's "tags" is not a list`);
  for (const t of list)
    if (typeof t !== 'string' || !isValidTag(t)) throw failedPrecondition(`${what}: the registry listed an invalid tag ${JSON.stringify(t).slice(0, 140)}`);
  return list as string[];
}
