/**
 * What a test needs from the machine (root, a tool, a file, a kernel setting), in one place.
 * Locally a test whose need is not met is skipped, and the reason is printed once per file. In
 * CI (`CI` set, as .ci/run does) it fails instead: a CI host without a package must not go green
 * with less coverage.
 *
 *   const itRoot = itWith(requireRoot());
 *   const itPull = itWith(requireRoot(), requireTool('ctr', 'containerd', 'docker-registry'));
 *   describeWith(requireFile(UPSTREAM, 'upstream protos', 'golang-github-containerd-containerd-dev'))('…', () => { … });
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';

export interface Requirement {
  /** What is needed, e.g. `root` or `ctr`. */
  readonly what: string;
  /** Why it is not met here (with how to meet it), or undefined when it is. */
  readonly missing?: string;
}

/** True in CI: unmet requirements fail there. `CI=0`/`CI=false` count as unset. */
export function inCI(): boolean {
  const v = process.env.CI ?? '';
  return v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function requireRoot(): Requirement {
  return { what: 'root', missing: process.getuid?.() === 0 ? undefined : 'needs root (mounts, namespaces, cgroups): run the tests as root' };
}

/** Debian packages for the tools the tests use (scripts/install-deps.sh installs them all). */
const PACKAGE_OF: Record<string, string> = {
  ctr: 'containerd',
  containerd: 'containerd',
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  umoci: 'umoci',
  runc: 'runc',
  crun: 'crun',
  getfattr: 'attr',
  ip: 'iproute2',
  busybox: 'busybox-static',
  zstd: 'zstd',
  debootstrap: 'debootstrap',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
};
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Where `name` would be run from (PATH, plus the sbin dirs a non-login root shell may lack), or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Every tool named, on PATH. */
export function requireTool(...names: string[]): Requirement {
  const absent = names.filter((n) => !findTool(n));
  if (!absent.length) return { what: names.join(', ') };
  const pkgs = [...new Set(absent.map((n) => PACKAGE_OF[n] ?? n))];
  return { what: names.join(', '), missing: `needs ${absent.join(', ')}: apt-get install ${pkgs.join(' ')} (scripts/install-deps.sh)` };
}

/** A file or directory that a package provides. */
export function requireFile(path: string, what: string, pkg: string): Requirement {
  return { what, missing: existsSync(path) ? undefined : `needs ${what} (${path}): apt-get install ${pkg} (scripts/install-deps.sh)` };
}

/** Runs in the initial user namespace, where the container's uid maps can be set up (not in a nested userns). */
export function requireHostUserns(): Requirement {
  const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ');
  return { what: 'the initial user namespace', missing: map === '0 0 4294967295' ? undefined : `needs the initial user namespace (uid_map here: ${map})` };
}

/** A requirement whose check lives elsewhere: `missing` is the reason, or undefined when met. */
export function requirement(what: string, missing: string | undefined): Requirement {
  return { what, missing };
}

/** The reasons among `reqs` that are not met. */
export function unmet(...reqs: Requirement[]): string[] {
  return reqs.flatMap((r) => (r.missing ? [r.missing] : []));
}

/** True when every requirement is met (for set-up hooks that only make sense then). */
export function met(...reqs: Requirement[]): boolean {
  return unmet(...reqs).length === 0;
}

const printed = new Set<string>();
function printSkip(reasons: string[]): void {
  const file = relative(process.cwd(), expect.getState().testPath ?? '?');
  for (const r of reasons) {
    const line = `skipped in ${file}: ${r}`;
    if (printed.has(line)) continue;
    printed.add(line);
    process.stderr.write(`${line}\n`);
  }
}

function failure(reasons: string[]): Error {
  return new Error(`${reasons.join('; ')} (CI is set: a missing tool or privilege fails the run instead of skipping)`);
}

/**
 * `it` when every requirement is met; otherwise `it.skip` (printing why) locally, and in CI an
 * `it` whose test fails with the reason.
 */
export function itWith(...reqs: Requirement[]): jest.It {
  const reasons = unmet(...reqs);
  if (!reasons.length) return it;
  if (!inCI()) {
    printSkip(reasons);
    return it.skip;
  }
  const failing = (name: string, _fn?: unknown, timeout?: number) =>
    it(
      name,
      () => {
        throw failure(reasons);
      },
      timeout,
    );
  return Object.assign(failing, { skip: it.skip, only: it.only, todo: it.todo, each: it.each, concurrent: it.concurrent, failing: it.failing });
}

/** Like itWith, for a whole describe block: in CI its body is replaced by one failing test. */
export function describeWith(...reqs: Requirement[]): jest.Describe {
  const reasons = unmet(...reqs);
  if (!reasons.length) return describe;
  if (!inCI()) {
    printSkip(reasons);
    return describe.skip;
  }
  const failing = (name: string | number | jest.FunctionLike, _fn?: unknown) =>
    describe(String(name), () => {
      it('has what it needs', () => {
        throw failure(reasons);
      });
    });
  return Object.assign(failing, { skip: describe.skip, only: describe.only, each: describe.each });
}

/**
 * For a check inside a test that needs something optional: true when met; otherwise false
 * locally (printing why) and a thrown failure in CI.
 */
export function demand(...reqs: Requirement[]): boolean {
  const reasons = unmet(...reqs);
  if (!reasons.length) return true;
  if (inCI()) throw failure(reasons);
  printSkip(reasons);
  return false;
}
