/** linux.seccomp as berthd reads it (toSeccompRequest), Docker's default profile, users' profile files. */
import {
  DEFAULT_CAPABILITIES,
  defaultSeccompProfile,
  defaultSpec,
  DOCKER_DEFAULT_PROFILE,
  parseSeccompProfile,
  parseSpec,
  specToPlan,
  toSeccompRequest,
  type OciSeccomp,
} from '../../src/tasks/spec';

const AMD64 = { arch: 'amd64', kernel: '6.1.0-18-amd64' };
const allowed = (p: OciSeccomp): Set<string> =>
  new Set((p.syscalls ?? []).filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args?.length).flatMap((s) => s.names));
const rulesFor = (p: OciSeccomp, name: string) => (p.syscalls ?? []).filter((s) => s.names.includes(name));

describe('toSeccompRequest', () => {
  it('reads actions, errnoRet, architectures, flags and conditions as libseccomp values', () => {
    const req = toSeccompRequest({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 9n, valueTwo: 0, op: 'SCMP_CMP_NE' }] },
        { names: ['trace_me'], action: 'SCMP_ACT_TRACE' },
      ],
    })!;
    expect(req.defaultAction).toBe(0x00050001); // ERRNO(EPERM)
    expect(req.arches).toEqual(['x86_64', 'x86']);
    expect(req.flags).toBe(6);
    expect(req.rules).toEqual([
      { name: 'read', action: 0x7fff0000, args: [] },
      { name: 'write', action: 0x7fff0000, args: [] },
      { name: 'clone3', action: 0x00050026, args: [] },
      { name: 'clone', action: 0x7fff0000, args: [{ index: 0, op: 7, value: 2114060288n, valueTwo: 0n }] },
      { name: 'kill', action: 0x80000000, args: [{ index: 1, op: 1, value: 9n, valueTwo: 0n }] },
      { name: 'trace_me', action: 0x7ff00001, args: [] },
    ]);
  });

  it('no default action and no syscalls: no filter, as runc reads it', () => {
    expect(toSeccompRequest({})).toBeUndefined();
    expect(toSeccompRequest({ syscalls: [] })).toBeUndefined();
  });

  it('leaves out names that cannot be syscalls (as unknown ones), refuses an empty one', () => {
    expect(
      toSeccompRequest({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read', 'no such', 'x;y'], action: 'SCMP_ACT_ERRNO' }] })!.rules.map(
        (r) => r.name,
      ),
    ).toEqual(['read']);
    expect(() => toSeccompRequest({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [''], action: 'SCMP_ACT_ERRNO' }] })).toThrow(
      /syscalls\[0\]\.names: an empty string/,
    );
    expect(() => toSeccompRequest({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] })).toThrow(
      /syscalls\[0\]\.names: empty/,
    );
  });

  it.each([
    [{ defaultAction: 'SCMP_ACT_BOGUS' }, /defaultAction: unknown action "SCMP_ACT_BOGUS"/],
    [{ syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, /defaultAction: unknown action ""/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /architectures\[0\]: unknown architecture "SCMP_ARCH_Z80"/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FAST'] }, /flags\[0\]: unknown flag/],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }] }] },
      /syscalls\[0\]\.args\[0\]\.op: unknown operator/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] },
      /args\[0\]\.index: 6/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }] },
      /beyond 2\^53/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1n << 64n, op: 'SCMP_CMP_EQ' }] }] },
      /not a 64-bit unsigned value/,
    ],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 70000 }, /errnoRet 70000/],
  ] as [OciSeccomp, RegExp][])('refuses malformed case %# as InvalidArgument', (sc, msg) => {
    expect(() => toSeccompRequest(sc)).toThrow(msg);
    try {
      toSeccompRequest(sc);
    } catch (e) {
      expect(e).toMatchObject({ kind: 'InvalidArgument' });
    }
  });

  it('a seccomp agent (NOTIFY, listenerPath, WAIT_KILLABLE_RECV) is NotImplemented', () => {
    for (const sc of [
      { defaultAction: 'SCMP_ACT_NOTIFY' },
      { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock' },
      { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] },
    ])
      expect(() => toSeccompRequest(sc)).toThrow(expect.objectContaining({ kind: 'NotImplemented' }));
  });

  it('specToPlan carries the compiled filter, and will not build a plan without it', () => {
    const spec = defaultSpec({ id: 'c1' });
    spec.linux!.seccomp = defaultSeccompProfile(DEFAULT_CAPABILITIES, AMD64);
    const opts = { id: 'c1', stateDir: '/run/berth/c1', rootfs: '/r' };
    expect(() => specToPlan(spec, opts)).toThrow(/linux.seccomp must be compiled first/);
    const program = Buffer.alloc(16);
    expect(specToPlan(spec, { ...opts, seccomp: { program, flags: 2, skipped: [] } }).plan.seccomp).toEqual({ program, flags: 2 });
    expect(specToPlan(spec, { ...opts, seccomp: null }).plan.seccomp).toBeUndefined(); // a profile that asks for none
  });

  it('parseSpec refuses a linux.seccomp with a key OCI does not have', () => {
    const spec = { ociVersion: '1.1.0', linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', defaultActon: 'x' } } };
    expect(() => parseSpec(spec, 'c1')).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });
});

describe("Docker's default profile", () => {
  it('is a profile of its own for each container: changing one changes no other', () => {
    const a = defaultSeccompProfile(DEFAULT_CAPABILITIES, AMD64);
    const before = JSON.stringify(a);
    a.architectures!.push('SCMP_ARCH_ARM');
    a.syscalls![0]!.names.push('keyctl');
    a.syscalls![0]!.args?.push({ index: 0, value: 1, op: 'SCMP_CMP_EQ' });
    a.syscalls!.push({ names: ['mount'], action: 'SCMP_ACT_ALLOW' });
    const b = defaultSeccompProfile(DEFAULT_CAPABILITIES, AMD64);
    expect(JSON.stringify(b)).toBe(before);
    expect(allowed(b).has('mount')).toBe(false);
  });

  it('for the default capabilities on amd64: x86_64/x86/x32, and keyctl, unshare, mount, bpf, ... left to the default EPERM', () => {
    const p = defaultSeccompProfile(DEFAULT_CAPABILITIES, AMD64);
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const allow = allowed(p);
    for (const n of ['read', 'execve', 'arch_prctl', 'modify_ldt', 'chroot', 'ptrace', 'process_vm_readv', 'io_setup'])
      expect([n, allow.has(n)]).toEqual([n, true]);
    for (const n of [
      'keyctl',
      'add_key',
      'request_key',
      'unshare',
      'mount',
      'umount2',
      'setns',
      'userfaultfd',
      'perf_event_open',
      'bpf',
      'clone3',
      'kexec_load',
      'reboot',
      'swapon',
      'init_module',
      'open_by_handle_at',
      'kcmp',
      'io_uring_setup',
      'arm_fadvise64_64',
    ])
      expect([n, allow.has(n)]).toEqual([n, false]);
    expect(rulesFor(p, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    expect(rulesFor(p, 'clone')).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(rulesFor(p, 'personality').map((s) => s.args![0]!.value)).toEqual([0, 8, 131072, 131080, 4294967295]);
    expect(rulesFor(p, 'socket').map((s) => [s.args![0]!.op, s.args![0]!.value])).toEqual([
      ['SCMP_CMP_LT', 38],
      ['SCMP_CMP_EQ', 39],
      ['SCMP_CMP_GT', 40],
    ]);
    // The result is a valid OCI linux.seccomp.
    expect(toSeccompRequest(p)!.rules.length).toBeGreaterThan(350);
  });

  it('CAP_SYS_ADMIN opens mount, unshare, setns, clone and clone3 (no masked clone, no clone3 ENOSYS); other caps their own', () => {
    const p = defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME', 'CAP_SYS_MODULE'], AMD64);
    const allow = allowed(p);
    for (const n of [
      'mount',
      'umount2',
      'unshare',
      'setns',
      'clone',
      'clone3',
      'bpf',
      'perf_event_open',
      'fsopen',
      'syslog',
      'kcmp',
      'pidfd_getfd',
      'settimeofday',
      'init_module',
    ])
      expect([n, allow.has(n)]).toEqual([n, true]);
    expect(rulesFor(p, 'clone3')).toEqual([expect.objectContaining({ action: 'SCMP_ACT_ALLOW' })]);
    expect(rulesFor(p, 'clone').every((s) => !s.args)).toBe(true);
    for (const n of ['keyctl', 'add_key', 'userfaultfd', 'reboot']) expect([n, allow.has(n)]).toEqual([n, false]);
  });

  it('architecture and kernel: arm64 gets aarch64/arm and its own calls; before 4.8 ptrace needs CAP_SYS_PTRACE', () => {
    const arm = defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 'arm64', kernel: '6.1' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed(arm).has('arm_fadvise64_64')).toBe(true);
    expect(allowed(arm).has('arch_prctl')).toBe(false);
    expect(allowed(defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 'amd64', kernel: '4.4.0' })).has('ptrace')).toBe(false);
    expect(allowed(defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 'amd64', kernel: '4.8' })).has('ptrace')).toBe(true);
    const s390 = defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 's390x', kernel: '6.1' });
    expect(rulesFor(s390, 'clone').map((s) => s.args![0]!.index)).toEqual([1]);
  });

  it('is the upstream table: 9 archMap entries, 33 rules, the big allow list first', () => {
    expect(DOCKER_DEFAULT_PROFILE.archMap).toHaveLength(9);
    expect(DOCKER_DEFAULT_PROFILE.syscalls).toHaveLength(33);
    const first = DOCKER_DEFAULT_PROFILE.syscalls![0]!;
    expect(first.names).toHaveLength(361);
    expect(new Set(first.names).size).toBe(361);
  });
});

describe('parseSeccompProfile (a user profile file, Docker or OCI format)', () => {
  const bounding = DEFAULT_CAPABILITIES;
  it('reads the Docker format with conditions, and the plain OCI format', () => {
    const docker = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
        syscalls: [
          { name: 'read', action: 'SCMP_ACT_ALLOW', comment: 'always' },
          { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['chroot'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '3.0' } },
        ],
      }),
      bounding,
      AMD64,
    );
    expect(docker).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    });
    const oci = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
      }),
      bounding,
      AMD64,
    );
    expect(oci).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    });
    expect(parseSeccompProfile('{}', bounding, AMD64)).toBeUndefined(); // Docker's unconfined
  });

  it.each([
    ['{', /not JSON/],
    [JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscals: [] }), /syscals/],
    [
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 'one', op: 'SCMP_CMP_EQ' }] }],
      }),
      /syscalls\[0\]\.args\[0\]\.value/,
    ],
    [JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }] }), /either 'name' or 'names'/],
    [
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: null }],
      }),
      /either 'architectures' or 'archMap'/,
    ],
    [
      JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALOW' }] }),
      /syscalls\[0\]\.action: unknown action "SCMP_ACT_ALOW"/,
    ],
    [JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4' } }] }), /minKernel/],
  ])('refuses %s with what is wrong', (json, msg) => {
    expect(() => parseSeccompProfile(json, bounding, AMD64)).toThrow(msg);
    expect(() => parseSeccompProfile(json, bounding, AMD64)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });
});
