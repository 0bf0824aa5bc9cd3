/**
 * The ENOSYS stub put in front of libseccomp's program, as runc's patchbpf does: a syscall number
 * above the largest one the profile names (per architecture) gets ENOSYS instead of the default
 * action's EPERM, so that glibc and others fall back from syscalls newer than the profile (clone3,
 * faccessat2, ...) as they would on an older kernel. Numbers in between (holes) still get the
 * default action. Classic BPF, host byte order (the kernel reads struct sock_filter natively).
 */
import { endianness } from 'node:os';
import { BugError } from '../../core/errors';

/** The largest syscall number the profile names on one libseccomp architecture token. */
export interface ArchMax {
  token: number;
  max: number;
}

export const BPF_MAXINSNS = 4096;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
const SECCOMP_RET_TRACE = 0x7ff00000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ACTION_FULL = 0xffff0000;
const ENOSYS = 38;
const RET_ENOSYS = SECCOMP_RET_ERRNO | ENOSYS;

const AUDIT_ARCH_X86_64 = 0xc000003e;
/** libseccomp's SCMP_ARCH_X32 is no AUDIT_ARCH: x32 calls come as x86_64 with this bit in the number. */
const SCMP_ARCH_X32 = 0x4000003e;
const X32_SYSCALL_BIT = 0x40000000;
const AUDIT_ARCH_S390 = 0x16;
const AUDIT_ARCH_S390X = 0x80000016;

// struct seccomp_data: nr at 0, arch at 4.
const OFF_NR = 0;
const OFF_ARCH = 4;
const LD_W_ABS = 0x20;
const JMP_JA = 0x05;
const JMP_JEQ_K = 0x15;
const JMP_JGT_K = 0x25;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;

/** An instruction with its jump targets as labels (`ja` for the unconditional jump's), or a label. */
type Insn = { op: number; k?: number; jt?: string; jf?: string; ja?: string } | { label: string };

/** Does this default action call for the stub? Not for permissive ones (runc: allow, log, trace) or ERRNO(ENOSYS). */
export function wantsEnosysStub(defaultAction: number): boolean {
  const action = (defaultAction & SECCOMP_RET_ACTION_FULL) >>> 0;
  return action !== SECCOMP_RET_ALLOW && action !== SECCOMP_RET_LOG && action !== SECCOMP_RET_TRACE && defaultAction >>> 0 !== RET_ENOSYS;
}

/** The stub's instructions; jumps to `filter` land on libseccomp's first instruction. */
function stubInsns(arches: ArchMax[]): Insn[] {
  const byAudit = new Map<number, { native?: number; x32?: number }>();
  for (const a of arches) {
    if (a.max <= 0) continue; // no syscall of the profile there: the filter decides alone
    const audit = a.token === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : a.token >>> 0;
    const e = byAudit.get(audit) ?? {};
    if (a.token === SCMP_ARCH_X32) e.x32 = a.max;
    else e.native = a.max;
    byAudit.set(audit, e);
  }
  const dispatch: Insn[] = [{ op: LD_W_ABS, k: OFF_ARCH }];
  const sections: Insn[] = [];
  for (const [audit, e] of byAudit) {
    const sec = `arch${audit}`;
    dispatch.push({ op: JMP_JEQ_K, k: audit, jt: sec });
    sections.push({ label: sec }, { op: LD_W_ABS, k: OFF_NR });
    // s390: an unknown "large" syscall arrives as number 0 (setup), which nothing uses any more.
    if (audit === AUDIT_ARCH_S390 || audit === AUDIT_ARCH_S390X) sections.push({ op: JMP_JEQ_K, k: 0, jt: 'enosys' });
    if (audit === AUDIT_ARCH_X86_64) {
      // x86_64 and x32 share the AUDIT_ARCH; x32 numbers carry X32_SYSCALL_BIT.
      const x32 = `x32_${audit}`;
      sections.push({ op: JMP_JSET_K, k: X32_SYSCALL_BIT, jt: x32 });
      if (e.native !== undefined) sections.push({ op: JMP_JGT_K, k: e.native, jt: 'enosys' });
      sections.push({ op: JMP_JA, ja: 'filter' }, { label: x32 });
      if (e.x32 !== undefined) sections.push({ op: JMP_JGT_K, k: e.x32, jt: 'enosys' });
    } else sections.push({ op: JMP_JGT_K, k: e.native!, jt: 'enosys' });
    sections.push({ op: JMP_JA, ja: 'filter' });
  }
  if (sections.length === 0) return [];
  return [...dispatch, { op: JMP_JA, ja: 'filter' }, ...sections, { label: 'enosys' }, { op: RET_K, k: RET_ENOSYS }, { label: 'filter' }];
}

/** Assembles to struct sock_filter[] (all jumps forward; conditional ones must fit in 8 bits). */
function assemble(insns: Insn[]): Buffer {
  const at = new Map<string, number>();
  let n = 0;
  for (const i of insns)
    if ('label' in i) at.set(i.label, n);
    else n++;
  const out = Buffer.alloc(n * 8);
  const le = endianness() === 'LE';
  let pc = 0;
  const rel = (label: string | undefined, max: number): number => {
    if (label === undefined) return 0;
    const d = at.get(label)! - pc - 1;
    if (d < 0 || d > max) throw new BugError(`seccomp stub: jump to ${label} of ${d}`);
    return d;
  };
  for (const i of insns) {
    if ('label' in i) continue;
    const o = pc * 8;
    const jt = rel(i.jt, 255);
    const jf = rel(i.jf, 255);
    const k = i.ja !== undefined ? rel(i.ja, 0xffffffff) : (i.k ?? 0) >>> 0;
    if (le) {
      out.writeUInt16LE(i.op, o);
      out.writeUInt32LE(k, o + 4);
    } else {
      out.writeUInt16BE(i.op, o);
      out.writeUInt32BE(k, o + 4);
    }
    out[o + 2] = jt;
    out[o + 3] = jf;
    pc++;
  }
  return out;
}

/** The stub (empty when no architecture has a largest syscall) followed by the program. */
export function withEnosysStub(program: Buffer, arches: ArchMax[]): Buffer {
  return Buffer.concat([assemble(stubInsns(arches)), program]);
}
