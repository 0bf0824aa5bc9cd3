/**
 * Paging of `tags/list` as the distribution spec describes it, put in front of Debian's
 * docker-registry 2.8 (which ignores `n` and answers every tag at once) by a registry proxy: the
 * registry's own list, sorted, `n` per page from after `last`, and a `Link: <…>; rel="next"` to
 * the following page. Each Link carries `page=<k>`, which no client would make up, so the proxy's
 * log shows that a client followed the Link as written.
 */
import type { ProxyAction, RegistryProxy } from './registry-proxy';

const TAGS_LIST = /^\/v2\/(.+)\/tags\/list(?:\?(.*))?$/;

/** Installs the paging on `proxy`; `defaultN` is the page size when the client sends no `n`. */
export function pageTagsList(proxy: RegistryProxy, defaultN: number): void {
  proxy.onRequest = ({ method, path }): ProxyAction | undefined => {
    const m = TAGS_LIST.exec(path);
    if (method !== 'GET' || !m) return undefined;
    const q = new URLSearchParams(m[2] ?? '');
    const n = Number(q.get('n') ?? defaultN);
    const last = q.get('last');
    const page = Number(q.get('page') ?? 1);
    return {
      rewritePath: `/v2/${m[1]}/tags/list`,
      rewrite: (res) => {
        if (res.status !== 200) return res;
        const all = ((JSON.parse(res.body.toString()) as { tags: string[] | null }).tags ?? []).sort();
        const from = last === null ? 0 : all.findIndex((t) => t > last);
        const tags = from < 0 ? [] : all.slice(from, from + n);
        const headers: Record<string, string> = { ...res.headers };
        delete headers.link;
        if (from >= 0 && from + n < all.length)
          headers.link = `</v2/${m[1]}/tags/list?n=${n}&last=${encodeURIComponent(tags.at(-1)!)}&page=${page + 1}>; rel="next"`;
        return { status: 200, headers, body: Buffer.from(JSON.stringify({ name: m[1], tags })) };
      },
    };
  };
}

/** The tags/list requests the proxy saw, as their paths. */
export function tagsListRequests(proxy: RegistryProxy): string[] {
  return proxy.log.filter((r) => r.method === 'GET' && TAGS_LIST.test(r.path)).map((r) => r.path);
}
