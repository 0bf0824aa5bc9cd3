import { endianness } from 'node:os';
import { invalidArgument } from '../core/errors';
import type { Platform } from '../core/types';

/**
 * Platforms as containerd's platforms package sees them: `os/arch[/variant]` specifiers,
 * normalisation (x86_64 → amd64, aarch64 → arm64 with v8 implied, arm → arm/v7), the host's
 * platform, and the `Only` matcher (amd64 also takes 386, arm64 also arm/v8…v5, arm/v7 also v6
 * and v5, arm64/v8.x also v8.0…) with its preference order.
 */

const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'windows',
  'zos',
]);
const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'ppc64',
  'ppc64le',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

function normalizeArch(arch: string, variant: string): [string, string] {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return ['386', ''];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      a = 'amd64';
      if (v === 'v1') v = '';
      break;
    case 'aarch64':
    case 'arm64':
      a = 'arm64';
      if (v === '8' || v === 'v8') v = '';
      break;
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return [a, v];
}

export function normalizePlatform(p: Platform): Platform {
  const os = p.os ? (p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase()) : 'linux';
  const [architecture, variant] = normalizeArch(p.architecture ?? '', p.variant ?? '');
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os || 'unknown', p.architecture || 'unknown', p.variant].filter(Boolean).join('/');
}

/** The platform of this host, as containerd's platforms.DefaultSpec would report it. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
    mips: 'mips',
    mipsel: 'mipsle',
  };
  let a = arch[process.arch] ?? process.arch;
  if (process.arch === 'ppc64') a = endianness() === 'LE' ? 'ppc64le' : 'ppc64';
  let variant = '';
  if (a === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    variant = v ? `v${String(v)}` : 'v7';
  }
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: a, variant });
}

/**
 * Parses `os[/arch[/variant]]` (or a lone architecture, which takes the host's OS), as
 * containerd's platforms.Parse. InvalidArgument for anything else.
 */
export function parsePlatform(spec: string): Platform {
  const bad = (why: string) => invalidArgument(`platform ${JSON.stringify(spec.slice(0, 80))}: ${why}`);
  if (!spec) throw bad('must not be empty');
  const parts = spec.split('/');
  if (parts.length > 3 || parts.some((p) => !COMPONENT.test(p))) throw bad('must be os[/arch[/variant]]');
  const host = hostPlatform();
  if (parts.length === 1) {
    const x = parts[0]!.toLowerCase();
    if (KNOWN_OS.has(x) || x === 'macos') return normalizePlatform({ os: x, architecture: host.architecture, variant: host.variant });
    const [a] = normalizeArch(x, '');
    if (KNOWN_ARCH.has(a)) return normalizePlatform({ os: host.os, architecture: x });
    throw bad('unknown operating system or architecture');
  }
  const p = normalizePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] ?? '' });
  if (!KNOWN_OS.has(p.os)) throw bad(`unknown operating system ${JSON.stringify(p.os)}`);
  if (!KNOWN_ARCH.has(p.architecture)) throw bad(`unknown architecture ${JSON.stringify(p.architecture)}`);
  return p;
}

/** The platforms a matcher for `p` accepts, best first (containerd's platformVector). */
function platformVector(p: Platform): Platform[] {
  const out: Platform[] = [p];
  const variantNumber = (v: string | undefined) => Number.parseInt((v ?? '').replace(/^v/, ''), 10);
  const withVariant = (arch: string, variant: string): Platform => ({ os: p.os, architecture: arch, ...(variant ? { variant } : {}) });
  if (p.architecture === 'amd64') {
    const n = variantNumber(p.variant);
    if (n > 1) for (let v = n - 1; v >= 1; v--) out.push(withVariant('amd64', v === 1 ? '' : `v${v}`));
    out.push(withVariant('386', ''));
  } else if (p.architecture === 'arm') {
    const n = variantNumber(p.variant);
    if (n > 5) for (let v = n - 1; v >= 5; v--) out.push(withVariant('arm', `v${v}`));
  } else if (p.architecture === 'arm64') {
    const variant = p.variant || 'v8';
    const [majorS, minorS] = variant.replace(/^v/, '').split('.');
    let major = Number.parseInt(majorS ?? '', 10);
    let minor = minorS !== undefined ? Number.parseInt(minorS, 10) || 0 : 0;
    if (major >= 8) {
      if (major === 9) {
        for (let m = minor - 1; m >= 0; m--) out.push(withVariant('arm64', m === 0 ? 'v9' : `v9.${m}`));
        minor += 5; // v9.x is compatible with v8.(x+5)
        major = 8;
        out.push(withVariant('arm64', `v8.${minor}`));
      }
      // normalised arm64/v8 has no variant; v8.0 is written without one
      for (let m = minor - 1; m >= 0; m--) out.push(withVariant('arm64', m === 0 ? '' : `v${major}.${m}`));
    }
    out.push(...platformVector({ os: p.os, architecture: 'arm', variant: 'v8' }));
  }
  return out;
}

export interface PlatformMatcher {
  match(p: Platform): boolean;
  /** Preference order: true when `a` is a better match than `b`. */
  less(a: Platform, b: Platform): boolean;
}

const same = (a: Platform, b: Platform) => a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');

/** containerd's platforms.Ordered over several platforms (each with its own compatible set). */
export function onlyPlatforms(platforms: readonly Platform[]): PlatformMatcher {
  const vector = platforms.flatMap((p) => platformVector(normalizePlatform(p)));
  const rank = (p: Platform) => {
    const n = normalizePlatform(p);
    const i = vector.findIndex((v) => same(v, n));
    return i < 0 ? Infinity : i;
  };
  return {
    match: (p) => rank(p) !== Infinity,
    less: (a, b) => rank(a) < rank(b),
  };
}

/** containerd's platforms.Only(p): p and what runs on it. */
export function onlyPlatform(p: Platform): PlatformMatcher {
  return onlyPlatforms([p]);
}

/** Every platform, no preference (`--all-platforms`). */
export const ALL_PLATFORMS: PlatformMatcher = { match: () => true, less: () => false };

/**
 * containerd's FilterPlatforms + LimitManifests over an index's entries: entries without a
 * platform are kept, the rest must match; manifests are ordered best first (stable) and at
 * most `limit` of them kept.
 */
export function selectManifests<T extends { platform?: Platform }>(entries: readonly T[], m: PlatformMatcher, limit = Infinity): T[] {
  const kept = entries.filter((e) => !e.platform || m.match(e.platform));
  const ranked = kept
    .map((e, i) => ({ e, i }))
    .sort((a, b) => {
      if (!a.e.platform || !b.e.platform) return a.i - b.i;
      if (m.less(a.e.platform, b.e.platform)) return -1;
      if (m.less(b.e.platform, a.e.platform)) return 1;
      return a.i - b.i;
    });
  return ranked.slice(0, limit).map((r) => r.e);
}
