/** berth-seccomp (libseccomp) + the ENOSYS stub, checked by running the programs in a BPF interpreter. */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeccompCompiler, compilerInput } from '../../src/tasks/helper/seccomp-compiler';
import { seccompCompilerPath } from '../../src/tasks/helper/paths';
import { wantsEnosysStub, withEnosysStub } from '../../src/tasks/helper/seccomp-stub';
import { toSeccompRequest, type OciSeccomp } from '../../src/tasks/spec';
import { runSeccompBpf } from '../helpers/bpf';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const X32 = 0x4000003e; // libseccomp's token; the kernel reports x32 calls as X86_64 with bit 30
const AARCH64 = 0xc00000b7;
const S390X = 0x80000016;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const RET_ALLOW = Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]); // ret ALLOW (little endian)
const itNative = existsSync(seccompCompilerPath()) && process.arch === 'x64' ? it : it.skip;

describe('the ENOSYS stub', () => {
  const run = (arches: { token: number; max: number }[], arch: number, nr: number) => runSeccompBpf(withEnosysStub(RET_ALLOW, arches), { arch, nr });

  it('answers ENOSYS above the largest known number, per architecture, and leaves the rest to the filter', () => {
    const arches = [
      { token: X86_64, max: 300 },
      { token: I386, max: 400 },
      { token: X32, max: 0x40000100 },
      { token: S390X, max: 350 },
    ];
    expect(run(arches, X86_64, 300)).toBe(ALLOW);
    expect(run(arches, X86_64, 301)).toBe(ENOSYS);
    expect(run(arches, X86_64, 0x40000005)).toBe(ALLOW); // x32, below its own largest
    expect(run(arches, X86_64, 0x40000200)).toBe(ENOSYS);
    expect(run(arches, I386, 400)).toBe(ALLOW);
    expect(run(arches, I386, 401)).toBe(ENOSYS);
    expect(run(arches, S390X, 0)).toBe(ENOSYS); // s390's "unknown large syscall"
    expect(run(arches, S390X, 1)).toBe(ALLOW);
    expect(run(arches, AARCH64, 5000)).toBe(ALLOW); // not in the profile: the filter's bad-arch action decides
  });

  it('without x32 in the profile, x32 calls go to the filter; architectures without a known syscall get no section', () => {
    expect(run([{ token: X86_64, max: 300 }], X86_64, 0x40000200)).toBe(ALLOW);
    expect(run([{ token: X86_64, max: 0 }], X86_64, 5000)).toBe(ALLOW);
    expect(withEnosysStub(RET_ALLOW, [{ token: X86_64, max: 0 }])).toEqual(RET_ALLOW);
  });

  it('is left out for permissive defaults and for ERRNO(ENOSYS) itself (runc)', () => {
    expect([ALLOW, 0x7ffc0000, 0x7ff00001, ENOSYS].map(wantsEnosysStub)).toEqual([false, false, false, false]);
    expect([EPERM, 0, 0x80000000, 0x00030000].map(wantsEnosysStub)).toEqual([true, true, true, true]);
  });
});

describe('SeccompCompiler', () => {
  const profile: OciSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write', 'getpid', 'bogus_syscall'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  };

  itNative('compiles with libseccomp: rules, conditions, other ABIs, unknown names skipped, ENOSYS above clone3', async () => {
    const f = await new SeccompCompiler().compile(toSeccompRequest(profile)!);
    expect(f.skipped).toEqual(['bogus_syscall']);
    const call = (nr: number, arch = X86_64, arg0 = 0n) => runSeccompBpf(f.program, { arch, nr, args: [arg0] });
    expect(call(0)).toBe(ALLOW); // read
    expect(call(39)).toBe(ALLOW); // getpid
    expect(call(250)).toBe(EPERM); // keyctl: the default
    expect(call(135, X86_64, 8n)).toBe(ALLOW); // personality(PER_LINUX32)
    expect(call(135, X86_64, 6n)).toBe(EPERM);
    expect(call(56, X86_64, 0x11n)).toBe(ALLOW); // clone(SIGCHLD)
    expect(call(56, X86_64, 0x20000n | 0x11n)).toBe(EPERM); // clone(CLONE_NEWNS)
    expect(call(435)).toBe(ENOSYS); // clone3: its rule
    expect(call(436)).toBe(ENOSYS); // past clone3, the largest known: the stub
    expect(call(20, I386)).toBe(ALLOW); // i386 getpid
    expect(call(288, I386)).toBe(EPERM); // i386 keyctl
    expect(call(1000, I386)).toBe(ENOSYS);
    expect(call(0x40000000 | 39)).toBe(ALLOW); // x32 getpid
  });

  itNative('compiles a profile once: later and concurrent requests share the program', async () => {
    const c = new SeccompCompiler();
    const req = toSeccompRequest(profile)!;
    expect(c.peek(req)).toBeUndefined();
    const [a, b] = await Promise.all([c.compile(req), c.compile(toSeccompRequest(profile)!)]);
    expect(a).toBe(b);
    expect(c.peek(req)).toBe(a);
    expect(await c.compile(req)).toBe(a);
    expect(c.peek({ ...req, flags: 2 })).toBeUndefined(); // flags are part of the key
  });

  it('the compiler input is one line per rule, conditions as index,op,a,b', () => {
    expect(compilerInput(toSeccompRequest(profile)!).split('\n').slice(0, 6)).toEqual([
      'default 327681',
      'arch x86_64',
      'arch x86',
      'arch x32',
      'rule read 2147418112',
      'rule write 2147418112',
    ]);
    expect(compilerInput(toSeccompRequest(profile)!)).toContain('rule clone 2147418112 0,7,2114060288,0\n');
  });

  it('refuses a profile too large for berth-seccomp before running it', async () => {
    const huge = toSeccompRequest({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: Array.from({ length: 60_000 }, (_, i) => `syscall_${i}`), action: 'SCMP_ACT_ERRNO' }],
    })!;
    await expect(new SeccompCompiler('/nonexistent').compile(huge)).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('too large'),
    });
  });

  describe('failures', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-fakesc-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const fake = async (name: string, code: number, stderr: string) => {
      const p = join(dir, name);
      await writeFile(p, `#!/bin/sh\ncat >/dev/null\necho 'berth-seccomp: ${stderr}' >&2\nexit ${code}\n`);
      await chmod(p, 0o755);
      return new SeccompCompiler(p).compile(toSeccompRequest(profile)!);
    };
    it('libseccomp refusing the profile is InvalidArgument; no libseccomp is FailedPrecondition; anything else Internal', async () => {
      await expect(fake('refused', 1, 'rule for syscall read: File exists')).rejects.toMatchObject({
        kind: 'InvalidArgument',
        message: 'seccomp profile: rule for syscall read: File exists',
      });
      await expect(fake('nolib', 3, 'cannot load libseccomp')).rejects.toMatchObject({
        kind: 'FailedPrecondition',
        message: expect.stringContaining('libseccomp'),
      });
      await expect(fake('crash', 2, 'line 1: bad number')).rejects.toMatchObject({ kind: 'Internal' });
      await expect(new SeccompCompiler(join(dir, 'missing')).compile(toSeccompRequest(profile)!)).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    });
  });
});
