/**
 * Docker's seccomp profile format (what `--security-opt seccomp=PROFILE.json` reads and what
 * moby's default.json is): an OCI `linux.seccomp` plus `archMap`, `name` for `names`, comments,
 * and rules that apply only for some capabilities, architectures or kernels. dockerToOci resolves
 * those for one container as moby's setupSeccomp does; parseSeccompProfile reads a user's file and
 * refuses a malformed one (unknown keys included: a misspelt key would otherwise change what is
 * allowed without a word) with the entry that is wrong.
 */
import { release } from 'node:os';
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors';
import { OciSeccompArgSchema, type OciSeccomp, type OciSyscall } from './schema';
import { toSeccompRequest } from './to-request';

const FilterSchema = z.strictObject({
  caps: z.array(z.string()).nullish(),
  arches: z.array(z.string()).nullish(),
  /** "<kernel>.<major>", e.g. "4.8". */
  minKernel: z
    .string()
    .regex(/^\d{1,3}\.\d{1,3}$/, 'minKernel is "<kernel>.<major>", e.g. "4.8"')
    .nullish(),
});

const DockerSyscallSchema = z.strictObject({
  name: z.string().optional(),
  names: z.array(z.string()).nullish(),
  action: z.string(),
  errnoRet: z.number().int().min(0).optional(),
  args: z.array(OciSeccompArgSchema).nullish(),
  comment: z.string().optional(),
  includes: FilterSchema.nullish(),
  excludes: FilterSchema.nullish(),
});

export const DockerSeccompSchema = z.strictObject({
  defaultAction: z.string().optional(),
  defaultErrnoRet: z.number().int().min(0).optional(),
  architectures: z.array(z.string()).nullish(),
  archMap: z.array(z.strictObject({ architecture: z.string(), subArchitectures: z.array(z.string()).nullable() })).nullish(),
  flags: z.array(z.string()).nullish(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(DockerSyscallSchema).nullish(),
});
export type DockerSeccompProfile = z.input<typeof DockerSeccompSchema>;
export type ParsedDockerProfile = z.output<typeof DockerSeccompSchema>;

export interface SeccompHost {
  /** Docker's (Go's) architecture name: amd64, arm64, arm, x86, ppc64le, s390x, riscv64, ... Default: this host's. */
  arch?: string;
  /** `<kernel>.<major>[...]` as uname -r prints it. Default: this host's. */
  kernel?: string;
}

/** Node's process.arch -> the names moby's profiles use (its goToNative). */
const NODE_TO_DOCKER: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: 'x86',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  s390: 's390',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mipsle',
  mipsel: 'mipsle',
};
/** moby's nativeToSeccomp: which archMap entry is this host's. */
const DOCKER_TO_SECCOMP: Readonly<Record<string, string>> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsle: 'SCMP_ARCH_MIPSEL',
  ppc: 'SCMP_ARCH_PPC',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
};

export const hostDockerArch = (): string => NODE_TO_DOCKER[process.arch] ?? process.arch;

function kernelAtLeast(kernel: string, min: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) throw invalidArgument(`seccomp profile: cannot read the kernel version ${JSON.stringify(kernel)}`);
  const [k, j] = min.split('.').map(Number);
  return Number(m[1]) > k! || (Number(m[1]) === k && Number(m[2]) >= j!);
}

type DockerSyscall = z.infer<typeof DockerSyscallSchema>;

/** Does the rule apply to this container (moby's includes/excludes: every include must hold, no exclude may)? */
function applies(s: DockerSyscall, bounding: readonly string[], arch: string, kernel: string): boolean {
  const ex = s.excludes;
  if (ex?.arches?.includes(arch)) return false;
  if (ex?.caps?.some((c) => bounding.includes(c))) return false;
  if (ex?.minKernel && kernelAtLeast(kernel, ex.minKernel)) return false;
  const inc = s.includes;
  if (inc?.arches?.length && !inc.arches.includes(arch)) return false;
  if (inc?.caps?.some((c) => !bounding.includes(c))) return false;
  if (inc?.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  return true;
}

/**
 * A Docker-format profile resolved for one container with this bounding capability set: the OCI
 * `linux.seccomp` to put in its spec, or undefined when the profile confines nothing (no default
 * action and no syscalls: Docker's `unconfined`).
 */
export function dockerToOci(input: DockerSeccompProfile, bounding: readonly string[], host: SeccompHost = {}): OciSeccomp | undefined {
  return resolveDockerProfile(DockerSeccompSchema.parse(input), bounding, host);
}

/** dockerToOci of a profile checked already; `p` is only read (default-profile.ts keeps Docker's own). */
export function resolveDockerProfile(p: ParsedDockerProfile, bounding: readonly string[], host: SeccompHost = {}): OciSeccomp | undefined {
  const syscalls = p.syscalls ?? [];
  if (!p.defaultAction && syscalls.length === 0) return undefined;
  if (p.architectures?.length && p.archMap?.length) throw invalidArgument("seccomp profile: give either 'architectures' or 'archMap', not both");
  const arch = host.arch ?? hostDockerArch();
  const kernel = host.kernel ?? release();
  const out: OciSeccomp = {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: [...(p.architectures ?? [])],
    flags: p.flags ? [...p.flags] : undefined,
    syscalls: [],
  };
  if (p.listenerPath !== undefined) out.listenerPath = p.listenerPath;
  if (p.listenerMetadata !== undefined) out.listenerMetadata = p.listenerMetadata;
  const own = p.archMap?.find((a) => a.architecture === DOCKER_TO_SECCOMP[arch]);
  if (own) out.architectures = [own.architecture, ...(own.subArchitectures ?? [])];
  syscalls.forEach((s, i) => {
    if (s.name && s.names?.length) throw invalidArgument(`seccomp profile: syscalls[${i}]: give either 'name' or 'names', not both`);
    if (!applies(s, bounding, arch, kernel)) return;
    const rule: OciSyscall = { names: s.name ? [s.name] : [...(s.names ?? [])], action: s.action };
    if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
    if (s.args?.length) rule.args = s.args.map((a) => ({ ...a }));
    out.syscalls!.push(rule);
  });
  if (out.flags === undefined) delete out.flags;
  if (out.defaultErrnoRet === undefined) delete out.defaultErrnoRet;
  return out;
}

/** Issues as `syscalls[3].action: ...` (zod's own message is a JSON dump). */
function describe(e: z.ZodError): string {
  return e.issues
    .map(
      (i) =>
        `${
          i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '') || 'profile'
        }: ${i.message}`,
    )
    .join('; ');
}

/**
 * A user's profile file (Docker or OCI format) resolved for a container, checked as berthd will
 * check it at Tasks/Create (actions, architectures, operators, flags), so that a bad file is
 * refused when it is given, with what is wrong. undefined: an unconfined profile.
 */
export function parseSeccompProfile(json: string, bounding: readonly string[], host: SeccompHost = {}): OciSeccomp | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw invalidArgument(`seccomp profile: not JSON: ${(e as Error).message}`, { cause: e });
  }
  const parsed = DockerSeccompSchema.safeParse(raw);
  if (!parsed.success) throw invalidArgument(`seccomp profile: ${describe(parsed.error)}`, { cause: parsed.error });
  const oci = dockerToOci(parsed.data, bounding, host);
  if (oci) toSeccompRequest(oci, 'seccomp profile');
  return oci;
}
