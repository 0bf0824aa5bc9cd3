import { familiarName, formatReference, parseReference, referenceObject } from '../../src/remotes/reference';
import { isLoopbackHost, resolveHost } from '../../src/remotes/hosts';

describe('image references (distribution grammar, docker.io normalisation)', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1'],
    ['127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1'],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    ['registry.example.com/ns/app', 'registry.example.com/ns/app:latest'],
    ['Registry.Example.com/app', 'Registry.Example.com/app:latest'],
    ['a__b/c-d---e.f_g', 'docker.io/a__b/c-d---e.f_g:latest'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
    [`busybox:1@sha256:${'b'.repeat(64)}`, `docker.io/library/busybox:1@sha256:${'b'.repeat(64)}`],
    [`host:5000/x:tag@sha256:${'c'.repeat(64)}`, `host:5000/x:tag@sha256:${'c'.repeat(64)}`],
  ])('%s → %s', (input, want) => {
    expect(formatReference(parseReference(input))).toBe(want);
  });

  it('splits domain, path, tag and digest; the digest is what a registry is asked for', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    const r = parseReference(`localhost:5000/team/app:1.2@${d}`);
    expect(r).toEqual({ domain: 'localhost:5000', path: 'team/app', tag: '1.2', digest: d });
    expect(referenceObject(r)).toBe(d);
    expect(referenceObject(parseReference('x'))).toBe('latest');
    expect(parseReference('x', { defaultTag: false }).tag).toBeUndefined();
  });

  it('familiar names drop docker.io and library/', () => {
    expect(familiarName(parseReference('busybox'))).toBe('busybox:latest');
    expect(familiarName(parseReference('user/app:2'))).toBe('user/app:2');
    expect(familiarName(parseReference('localhost:5000/app:1'))).toBe('localhost:5000/app:1');
  });

  it.each([
    ['', /must not be empty/],
    ['Busybox', /must be lowercase/],
    ['docker.io/Library/busybox', /must be lowercase/],
    ['busybox:', /invalid tag/],
    ['busybox:-bad', /invalid tag/],
    [`busybox:${'t'.repeat(129)}`, /invalid tag/],
    ['busybox@sha256:abc', /invalid digest/],
    [`busybox@sha256:${'a'.repeat(63)}`, /invalid digest|wrong length/],
    ['a//b', /does not match the grammar/],
    ['a/b_', /does not match the grammar/],
    ['-a/b', /invalid registry host|does not match/],
    ['host:port/x', /invalid registry host/],
    ['bad host/x', /whitespace/],
    ['a'.repeat(64), /64-byte hexadecimal/],
    [`example.com/${'a'.repeat(250)}`, /more than 255/],
    [':tag', /must not be empty/],
  ])('refuses %j clearly', (input, re) => {
    expect(() => parseReference(input)).toThrow(re);
    try {
      parseReference(input);
    } catch (e) {
      expect((e as { kind: string }).kind).toBe('InvalidArgument');
    }
  });
});

describe('registry hosts', () => {
  it('docker.io is served by registry-1.docker.io over HTTPS', () => {
    expect(resolveHost('docker.io').origin).toBe('https://registry-1.docker.io');
  });
  it('loopback hosts speak plain HTTP, others HTTPS unless named insecure', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['example.com', '10.0.0.1:5000', '128.0.0.1', '[fe80::1]:80']) expect(isLoopbackHost(h)).toBe(false);
    expect(resolveHost('127.0.0.1:5000').origin).toBe('http://127.0.0.1:5000');
    expect(resolveHost('registry.lan:5000').origin).toBe('https://registry.lan:5000');
    expect(resolveHost('registry.lan:5000', { insecure: ['registry.lan:5000'] }).origin).toBe('http://registry.lan:5000');
    const h = resolveHost('secure.lan', { hosts: { 'secure.lan': { ca: 'PEM', skipVerify: true } } });
    expect(h).toMatchObject({ origin: 'https://secure.lan', ca: 'PEM', rejectUnauthorized: false });
  });
});
