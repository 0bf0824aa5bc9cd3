/**
 * OCI `linux.seccomp` -> the libseccomp request berth-seccomp compiles, with runc's reading of the
 * spec: no default action and no syscalls means no filter; ERRNO and TRACE without errnoRet mean
 * EPERM; names that cannot be syscalls are left out like the ones libseccomp does not know.
 * Anything else that is wrong (an unknown action, architecture, operator or flag, an argument
 * index past 5) is refused here, before a container starts.
 */
import { invalidArgument, notImplemented } from '../../../core/errors';
import { SCMP_CMP, type SeccompCondition, type SeccompRequest, type SeccompRule } from '../../helper/seccomp-compiler';
import type { OciSeccomp, OciSeccompArg } from './schema';

const EPERM = 1;
const ERRNO_MAX = 0xffff; // SECCOMP_RET_DATA
const U64_MAX = (1n << 64n) - 1n;

/** OCI architecture names -> libseccomp's. */
export const SECCOMP_ARCHES: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
};

/** SECCOMP_FILTER_FLAG_* berth applies; TSYNC is moot for the single-threaded child (newer runc ignores it too). */
const FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 0,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_NOTIFY',
] as const;

/** A syscall name libseccomp could know; anything else is left out as an unknown name. */
const SYSCALL_NAME = /^[A-Za-z0-9_]+$/;

function action(name: string, errnoRet: number | undefined, where: string): number {
  const ret = errnoRet ?? EPERM;
  if (ret > ERRNO_MAX) throw invalidArgument(`${where}: errnoRet ${ret} is above ${ERRNO_MAX}`);
  switch (name) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 0;
    case 'SCMP_ACT_KILL_PROCESS':
      return 0x80000000;
    case 'SCMP_ACT_TRAP':
      return 0x00030000;
    case 'SCMP_ACT_ERRNO':
      return 0x00050000 | ret;
    case 'SCMP_ACT_TRACE':
      return 0x7ff00000 | ret;
    case 'SCMP_ACT_LOG':
      return 0x7ffc0000;
    case 'SCMP_ACT_ALLOW':
      return 0x7fff0000;
    case 'SCMP_ACT_NOTIFY':
      throw notImplemented(`${where}: SCMP_ACT_NOTIFY (a seccomp agent) is not supported by berth`);
    default:
      throw invalidArgument(`${where}: unknown action ${JSON.stringify(name)} (one of ${SECCOMP_ACTIONS.join(', ')})`);
  }
}

function u64(v: number | bigint, where: string): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw invalidArgument(`${where}: ${v} is beyond 2^53 and cannot be read exactly from JSON`);
  const b = BigInt(v);
  if (b < 0n || b > U64_MAX) throw invalidArgument(`${where}: ${v} is not a 64-bit unsigned value`);
  return b;
}

function condition(a: OciSeccompArg, where: string): SeccompCondition {
  const op = (SCMP_CMP as Record<string, number>)[a.op];
  if (op === undefined) throw invalidArgument(`${where}.op: unknown operator ${JSON.stringify(a.op)} (one of ${Object.keys(SCMP_CMP).join(', ')})`);
  if (a.index > 5) throw invalidArgument(`${where}.index: ${a.index}, a syscall has arguments 0 to 5`);
  return { index: a.index, op, value: u64(a.value, `${where}.value`), valueTwo: u64(a.valueTwo ?? 0, `${where}.valueTwo`) };
}

/** undefined: the spec asks for no filter (runc: no defaultAction and no syscalls). */
export function toSeccompRequest(sc: OciSeccomp, where = 'linux.seccomp'): SeccompRequest | undefined {
  const syscalls = sc.syscalls ?? [];
  if (!sc.defaultAction && syscalls.length === 0) return undefined;
  if (sc.listenerPath) throw notImplemented(`${where}.listenerPath: seccomp notify (a seccomp agent) is not supported by berth`);
  const defaultAction = action(sc.defaultAction ?? '', sc.defaultErrnoRet, `${where}.defaultAction`);
  const arches = (sc.architectures ?? []).map((a, i) => {
    const name = SECCOMP_ARCHES[a];
    if (!name)
      throw invalidArgument(`${where}.architectures[${i}]: unknown architecture ${JSON.stringify(a)} (one of ${Object.keys(SECCOMP_ARCHES).join(', ')})`);
    return name;
  });
  let flags = 0;
  (sc.flags ?? []).forEach((f, i) => {
    if (f === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV') throw notImplemented(`${where}.flags[${i}]: ${f} needs seccomp notify, which berth does not support`);
    const bit = FLAGS[f];
    if (bit === undefined) throw invalidArgument(`${where}.flags[${i}]: unknown flag ${JSON.stringify(f)} (one of ${Object.keys(FLAGS).join(', ')})`);
    flags |= bit;
  });
  const rules: SeccompRule[] = [];
  syscalls.forEach((s, i) => {
    const at = `${where}.syscalls[${i}]`;
    const act = action(s.action, s.errnoRet, `${at}.action`);
    const args = (s.args ?? []).map((a, j) => condition(a, `${at}.args[${j}]`));
    if (s.names.length === 0) throw invalidArgument(`${at}.names: empty`);
    for (const name of s.names) {
      if (name === '') throw invalidArgument(`${at}.names: an empty string is no syscall`);
      if (SYSCALL_NAME.test(name)) rules.push({ name, action: act, args });
    }
  });
  return { defaultAction, arches, rules, flags };
}
