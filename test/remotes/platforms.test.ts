import { createHash } from 'node:crypto';
import { childGcLabels } from '../../src/images/manifest';
import { chainIds } from '../../src/images/identity';
import { ALL_PLATFORMS, formatPlatform, hostPlatform, normalizePlatform, onlyPlatform, parsePlatform } from '../../src/images/platforms';
import { MEDIA_TYPE } from '../../src/images/media-types';

describe('platforms (containerd platforms package semantics)', () => {
  it('normalises architecture names and default variants', () => {
    expect(normalizePlatform({ os: 'linux', architecture: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(normalizePlatform({ os: 'Linux', architecture: 'aarch64', variant: 'v8' })).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(normalizePlatform({ os: 'linux', architecture: 'arm' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({ os: 'linux', architecture: 'armhf' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({ os: 'linux', architecture: 'i386' })).toEqual({ os: 'linux', architecture: '386' });
  });

  it('parses os/arch/variant specifiers and refuses nonsense', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('arm64')).toMatchObject({ os: hostPlatform().os, architecture: 'arm64' });
    expect(formatPlatform(parsePlatform('linux/arm/v5'))).toBe('linux/arm/v5');
    for (const bad of ['', 'linux/amd64/v3/x', 'plan10/amd64', 'linux/z80', 'linux amd64', 'nonsense']) expect(() => parsePlatform(bad)).toThrow(/platform/);
  });

  it('the host platform is what Node runs on', () => {
    const h = hostPlatform();
    expect(h.os).toBe('linux');
    if (process.arch === 'x64') expect(h.architecture).toBe('amd64');
  });

  it('Only(amd64) also takes 386, preferring amd64', () => {
    const m = onlyPlatform({ os: 'linux', architecture: 'amd64' });
    expect(m.match({ os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(m.match({ os: 'linux', architecture: '386' })).toBe(true);
    expect(m.match({ os: 'linux', architecture: 'arm64' })).toBe(false);
    expect(m.match({ os: 'windows', architecture: 'amd64' })).toBe(false);
    expect(m.less({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: '386' })).toBe(true);
    expect(m.less({ os: 'linux', architecture: '386' }, { os: 'linux', architecture: 'amd64' })).toBe(false);
  });

  it('Only(arm64) takes arm64 (v8 implied) and arm v8..v5; Only(arm/v7) takes v6 and v5 but not v8', () => {
    const a64 = onlyPlatform({ os: 'linux', architecture: 'arm64' });
    expect(a64.match({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(a64.match({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(true);
    expect(a64.match({ os: 'linux', architecture: 'arm64', variant: 'v8.2' })).toBe(false);
    expect(a64.less({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(true);
    const v82 = onlyPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8.2' });
    expect(v82.match({ os: 'linux', architecture: 'arm64', variant: 'v8.1' })).toBe(true);
    expect(v82.match({ os: 'linux', architecture: 'arm64' })).toBe(true);
    const v7 = onlyPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(v7.match({ os: 'linux', architecture: 'arm', variant: 'v5' })).toBe(true);
    expect(v7.match({ os: 'linux', architecture: 'arm', variant: 'v8' })).toBe(false);
    expect(ALL_PLATFORMS.match({ os: 'plan9', architecture: '386' })).toBe(true);
  });
});

describe('image identity and gc labels (as containerd computes them)', () => {
  it('chain IDs: the first is the diff ID, then sha256("<parent> <diffID>")', () => {
    const d1 = `sha256:${'1'.repeat(64)}`;
    const d2 = `sha256:${'2'.repeat(64)}`;
    const [c1, c2] = chainIds([d1, d2]);
    expect(c1).toBe(d1);
    // sha256 of "sha256:111…1 sha256:222…2", computed independently with coreutils-style hashing
    expect(c2).toBe(`sha256:${createHash('sha256').update(`${d1} ${d2}`).digest('hex')}`);
    expect(chainIds([])).toEqual([]);
  });

  it('child gc labels are numbered per kind (images.SetChildrenMappedLabels)', () => {
    const d = (n: number) => `sha256:${String(n).repeat(64)}`;
    expect(
      childGcLabels([
        { mediaType: MEDIA_TYPE.ociConfig, digest: d(1), size: 1 },
        { mediaType: MEDIA_TYPE.ociLayerGzip, digest: d(2), size: 1 },
        { mediaType: MEDIA_TYPE.dockerLayerGzip, digest: d(3), size: 1 },
      ]),
    ).toEqual({ 'containerd.io/gc.ref.content.config': d(1), 'containerd.io/gc.ref.content.l.0': d(2), 'containerd.io/gc.ref.content.l.1': d(3) });
    expect(
      childGcLabels([
        { mediaType: MEDIA_TYPE.ociManifest, digest: d(4), size: 1 },
        { mediaType: MEDIA_TYPE.dockerManifest, digest: d(5), size: 1 },
      ]),
    ).toEqual({
      'containerd.io/gc.ref.content.m.0': d(4),
      'containerd.io/gc.ref.content.m.1': d(5),
    });
  });
});
