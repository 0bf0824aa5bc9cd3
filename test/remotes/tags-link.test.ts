/** The `Link` header's next page (RFC 8288), as the distribution spec pages `tags/list`. */
import { nextLink } from '../../src/remotes';

const BASE = 'http://127.0.0.1:5000/v2/team/app/tags/list?n=2';

describe('nextLink', () => {
  it("resolves distribution's relative Link against the response's URL", () => {
    expect(nextLink('</v2/team/app/tags/list?last=b&n=2>; rel="next"', BASE)?.href).toBe('http://127.0.0.1:5000/v2/team/app/tags/list?last=b&n=2');
  });

  it('keeps an absolute URL as written, query and all', () => {
    expect(nextLink('<https://reg.example/v2/x/tags/list?n=100&last=v1.2>; rel=next', BASE)?.href).toBe('https://reg.example/v2/x/tags/list?n=100&last=v1.2');
  });

  it('picks the next link among several, whatever the order, spacing and case', () => {
    const h = '</v2/x/tags/list?last=a>; rel="prev", </v2/x/tags/list?last=c&n=2> ;REL="Next"; title="more"';
    expect(nextLink(h, BASE)?.pathname + nextLink(h, BASE)!.search).toBe('/v2/x/tags/list?last=c&n=2');
  });

  it('finds next in a space-separated list of relation types', () => {
    expect(nextLink('</p2>; rel="last next"', BASE)?.href).toBe('http://127.0.0.1:5000/p2');
  });

  it('is undefined without a next link', () => {
    expect(nextLink(undefined, BASE)).toBeUndefined();
    expect(nextLink('', BASE)).toBeUndefined();
    expect(nextLink('</v2/x/tags/list?last=a>; rel="prev"', BASE)).toBeUndefined();
    expect(nextLink('</v2/x/tags/list?last=a>', BASE)).toBeUndefined();
    expect(nextLink('</v2/x/tags/list?last=a>; rel="nextpage"', BASE)).toBeUndefined();
    expect(nextLink('garbage', BASE)).toBeUndefined();
  });

  it('a next link that is no URL is InvalidArgument', () => {
    expect(() => nextLink('<http://[bad>; rel="next"', BASE)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });
});
