import { invalidArgument } from '../../core/errors';

/** An OCI platform, as the Transfer API carries it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH: Record<string, { architecture: string; variant?: string }> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64', variant: 'v8' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
  loong64: { architecture: 'loong64' },
  mips64el: { architecture: 'mips64le' },
};

/** This machine's platform (berthd runs on it: the client talks to it over a unix socket). */
export function hostPlatform(): Platform {
  const a = ARCH[process.arch] ?? { architecture: process.arch };
  return { os: process.platform === 'win32' ? 'windows' : process.platform, ...a };
}

/** `linux/arm64/v8`, `linux/amd64`, `arm64` (the host's OS): Docker's --platform syntax. */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.some((p) => !p || !/^[a-z0-9._-]+$/.test(p)) || parts.length > 3)
    throw invalidArgument(`platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  if (parts.length === 1) return { os: hostPlatform().os, architecture: parts[0]! };
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function toPlatform(p: string | Platform): Platform {
  return typeof p === 'string' ? parsePlatform(p) : p;
}

export function platformToProto(p: Platform): { os: string; architecture: string; variant: string } {
  return { os: p.os, architecture: p.architecture, variant: p.variant ?? '' };
}
