/**
 * Seccomp profiles -> BPF programs the helper loads. libseccomp compiles (native/seccomp:
 * berth-seccomp, which dlopens libseccomp.so.2 and adds the rules as runc adds them), berthd puts
 * its ENOSYS stub in front (seccomp-stub.ts) and keeps the result: containers sharing a profile
 * (every `ctr run --seccomp`, every engine container with the same capabilities) share one compile.
 * Compiling in each container child instead cost ~6 ms per start for Docker's profile.
 */
import { spawn } from 'node:child_process';
import { failedPrecondition, internal, invalidArgument } from '../../core/errors';
import { seccompCompilerPath } from './paths';
import { BPF_MAXINSNS, withEnosysStub, wantsEnosysStub, type ArchMax } from './seccomp-stub';

/** libseccomp's comparison operators (enum scmp_compare). */
export const SCMP_CMP = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 } as const;

export interface SeccompCondition {
  index: number;
  op: number;
  value: bigint;
  valueTwo: bigint;
}

/** One libseccomp rule: a syscall name, an action value (SCMP_ACT_*), and conditions all of which must hold. */
export interface SeccompRule {
  name: string;
  action: number;
  args: SeccompCondition[];
}

/** A profile in libseccomp's terms (spec/seccomp builds it from the OCI `linux.seccomp`). */
export interface SeccompRequest {
  defaultAction: number;
  /** libseccomp architecture names (`x86_64`, `x86`, `x32`, ...); the native one is always in. */
  arches: string[];
  rules: SeccompRule[];
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
}

export interface SeccompFilter {
  /** struct sock_filter[], host byte order: the ENOSYS stub, then libseccomp's program. */
  readonly program: Buffer;
  readonly flags: number;
  /** Syscall names libseccomp does not know (left out, as runc does). */
  readonly skipped: readonly string[];
}

const COMPILE_TIMEOUT_MS = 20_000;
/** berth-seccomp reads at most this much (native/seccomp/main.c MAX_INPUT). */
const MAX_INPUT = 1 << 20;
const CACHE_MAX = 32;
const EXIT_REFUSED = 1;
const EXIT_NO_LIBSECCOMP = 3;

/** berth-seccomp's stdin (native/helper/PROTOCOL.md); also the cache key. */
export function compilerInput(req: SeccompRequest): string {
  const lines = [`default ${req.defaultAction >>> 0}`, ...req.arches.map((a) => `arch ${a}`)];
  for (const r of req.rules) lines.push(['rule', r.name, r.action >>> 0, ...r.args.map((c) => `${c.index},${c.op},${c.value},${c.valueTwo}`)].join(' '));
  return `${lines.join('\n')}\n`;
}

/** Parses berth-seccomp's stdout into the final filter. */
export function filterFromOutput(out: string, req: SeccompRequest): SeccompFilter {
  const skipped: string[] = [];
  const arches: ArchMax[] = [];
  let program: Buffer | undefined;
  for (const line of out.split('\n')) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'skip' && a) skipped.push(a);
    else if (kind === 'arch' && a && b) arches.push({ token: Number(a), max: Number(b) });
    else if (kind === 'bpf' && a !== undefined && /^([0-9a-f]{16})+$/.test(a)) program = Buffer.from(a, 'hex');
    else if (line !== '') throw internal(`berth-seccomp: unexpected output ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (!program) throw internal('berth-seccomp: no program in its output');
  const full = wantsEnosysStub(req.defaultAction) ? withEnosysStub(program, arches) : program;
  if (full.length / 8 > BPF_MAXINSNS) throw invalidArgument(`seccomp profile: ${full.length / 8} BPF instructions, the kernel takes at most ${BPF_MAXINSNS}`);
  return { program: full, flags: req.flags, skipped };
}

function runCompiler(path: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMPILE_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(failedPrecondition(`seccomp: cannot run ${path} (npm run build:native builds it)`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const msg = err.trim().replace(/^berth-seccomp: /, '');
      if (code === 0) resolve(out);
      else if (code === EXIT_REFUSED) reject(invalidArgument(`seccomp profile: ${msg}`));
      else if (code === EXIT_NO_LIBSECCOMP) reject(failedPrecondition(`seccomp: ${msg}`));
      else reject(internal(`berth-seccomp exited ${code ?? signal}: ${msg}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Compiles profiles once each (LRU of CACHE_MAX); concurrent requests for one profile share the run. */
export class SeccompCompiler {
  private readonly done = new Map<string, SeccompFilter>();
  private readonly running = new Map<string, Promise<SeccompFilter>>();

  constructor(private readonly path: string = seccompCompilerPath()) {}

  /** The compiled filter if this profile was compiled already. */
  peek(req: SeccompRequest): SeccompFilter | undefined {
    return this.done.get(`${compilerInput(req)}flags ${req.flags}`);
  }

  compile(req: SeccompRequest): Promise<SeccompFilter> {
    const input = compilerInput(req);
    if (input.length >= MAX_INPUT) return Promise.reject(invalidArgument(`seccomp profile: ${req.rules.length} rules, too large to compile`));
    const key = `${input}flags ${req.flags}`;
    const hit = this.done.get(key);
    if (hit) {
      this.done.delete(key); // most recently used last
      this.done.set(key, hit);
      return Promise.resolve(hit);
    }
    let p = this.running.get(key);
    if (!p) {
      p = runCompiler(this.path, input)
        .then((out) => {
          const f = filterFromOutput(out, req);
          this.done.set(key, f);
          for (const k of this.done.keys()) if (this.done.size > CACHE_MAX) this.done.delete(k);
          return f;
        })
        .finally(() => this.running.delete(key));
      this.running.set(key, p);
    }
    return p;
  }
}
