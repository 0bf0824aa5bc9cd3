/**
 * A classic-BPF interpreter for seccomp programs (the instructions libseccomp and berth's ENOSYS
 * stub use: loads from struct seccomp_data, conditional and unconditional jumps, returns), so that
 * a filter's decision for a given architecture, syscall number and arguments can be checked
 * without loading it.
 */
import { endianness } from 'node:os';

export interface SeccompData {
  nr: number;
  arch: number;
  args?: bigint[];
}

/** The SECCOMP_RET_* value the program returns for this call. */
export function runSeccompBpf(program: Buffer, d: SeccompData): number {
  const le = endianness() === 'LE';
  const word = (off: number): number => {
    if (off === 0) return d.nr >>> 0;
    if (off === 4) return d.arch >>> 0;
    if (off >= 16 && off < 64) {
      const arg = d.args?.[(off - 16) >> 3] ?? 0n;
      return Number(((off - 16) % 8 === 0) === le ? arg & 0xffffffffn : arg >> 32n) >>> 0;
    }
    throw new Error(`bpf: load at ${off}`);
  };
  let a = 0;
  let x = 0;
  for (let pc = 0, steps = 0; pc < program.length / 8 && steps < 100_000; steps++) {
    const o = pc * 8;
    const code = le ? program.readUInt16LE(o) : program.readUInt16BE(o);
    const jt = program[o + 2]!;
    const jf = program[o + 3]!;
    const k = le ? program.readUInt32LE(o + 4) : program.readUInt32BE(o + 4);
    pc++;
    const src = code & 0x08 ? x : k;
    switch (code & 0x07) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20) a = word(k);
        else if ((code & 0xe0) === 0x00) a = k;
        else throw new Error(`bpf: ld mode ${code}`);
        break;
      case 0x01: // LDX
        x = (code & 0xe0) === 0x00 ? k : word(k);
        break;
      case 0x04: // ALU
        if ((code & 0xf0) === 0x50) a = (a & src) >>> 0;
        else if ((code & 0xf0) === 0x40) a = (a | src) >>> 0;
        else throw new Error(`bpf: alu ${code}`);
        break;
      case 0x05: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const cond = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : op === 0x40 ? (a & src) !== 0 : undefined;
        if (cond === undefined) throw new Error(`bpf: jmp ${code}`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06:
        return (code & 0x18) === 0x10 ? a : k;
      case 0x07:
        if (code === 0x07) x = a;
        else a = x;
        break;
      default:
        throw new Error(`bpf: opcode ${code}`);
    }
  }
  throw new Error('bpf: fell off the end');
}
