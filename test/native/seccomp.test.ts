/**
 * Seccomp in the helper: a profile compiled by berth-seccomp (libseccomp) plus berthd's ENOSYS stub,
 * carried on the plan, loaded by the container child. The probe (test/helpers/seccomp-probe.c)
 * tries syscalls inside the container and prints what each returned.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcess, type LaunchPlanInput } from '../../src/tasks/helper';
import { SeccompCompiler, type SeccompFilter } from '../../src/tasks/helper/seccomp-compiler';
import { DEFAULT_CAPABILITIES, defaultSeccompProfile, execPlan, toSeccompRequest, type OciSeccomp } from '../../src/tasks/spec';
import { buildProbe, parseProbe, probeSupported, verdict, type ProbeResult } from '../helpers/seccomp-probe';
import { itRoot, Running, useHarness } from './harness';

const h = useHarness();
const compiler = new SeccompCompiler();
const itProbe = probeSupported ? itRoot : it.skip;
const PROBE = '/seccomp-probe';

beforeAll(async () => {
  if (!probeSupported || process.getuid?.() !== 0) return;
  const dir = await buildProbe();
  try {
    await copyFile(join(dir, 'seccomp-probe'), join(h.rootfs.rootfs, PROBE.slice(1)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function filterFor(profile: OciSeccomp): Promise<SeccompFilter> {
  return compiler.compile(toSeccompRequest(profile)!);
}
const planPart = (f: SeccompFilter): Partial<LaunchPlanInput> => ({ seccomp: { program: f.program, flags: f.flags } });

/** Runs the probe under the filter, with the default spec's capabilities (or those given). */
async function probe(filter: SeccompFilter | undefined, opts: { caps?: string[]; noNewPrivileges?: boolean } = {}): Promise<ProbeResult> {
  const r = await h.run('probe', [PROBE], {
    tweak: (s) => {
      if (opts.caps) s.process!.capabilities = { bounding: opts.caps, effective: opts.caps, permitted: opts.caps };
      if (opts.noNewPrivileges !== undefined) s.process!.noNewPrivileges = opts.noNewPrivileges;
    },
    extra: filter ? planPart(filter) : {},
  });
  const res = await r.finish();
  expect(res.status).toBe(0);
  return parseProbe(res.out);
}

const BLOCKED_BY_DEFAULT = ['keyctl', 'add_key', 'request_key', 'unshare_0', 'unshare_badflag', 'mount', 'umount2', 'userfaultfd', 'perf_event_open', 'bpf', 'clone_newns', 'personality_bad', 'socket_alg', 'socket_vsock', 'setns', 'swapon', 'settimeofday', 'clock_settime', 'kcmp', 'get_mempolicy', 'set_mempolicy', 'mbind', 'io_uring_setup', 'nr_400_hole'];

describe('seccomp filters loaded by berth-helper', () => {
  itProbe("Docker's default profile for Docker's default capabilities: EPERM for what it refuses, ENOSYS for clone3 and unknown numbers", async () => {
    const caps = [...DEFAULT_CAPABILITIES];
    const plain = await probe(undefined, { caps });
    const filter = await filterFor(defaultSeccompProfile(caps));
    const confined = await probe(filter, { caps });
    expect(plain.seccomp).toBe('0');
    expect(confined.seccomp).toBe('2');
    for (const name of BLOCKED_BY_DEFAULT) {
      // Without the filter the kernel itself answers (a bad pointer, flag or fd), so the EPERM is the filter's.
      expect([name, verdict(plain.results.get(name))]).toEqual([name, name === 'nr_400_hole' ? 'ENOSYS' : 'allowed']);
      expect([name, confined.results.get(name)]).toEqual([name, 'EPERM']);
    }
    expect(confined.results.get('clone3')).toBe('ENOSYS'); // so glibc falls back to clone
    expect(confined.results.get('nr_1000')).toBe('ENOSYS'); // newer than the profile: ENOSYS, not EPERM
    expect(confined.results.get('i386_nr_1000')).toBe('ENOSYS');
    for (const name of ['getpid', 'read', 'openat', 'socket_inet', 'socket_netlink_audit', 'personality_query', 'chroot', 'clone_thread_only', 'ptrace', 'process_vm_readv', 'openat2', 'close_range', 'faccessat2', 'i386_getpid', 'cachestat', 'fchmodat2'])
      expect([name, verdict(confined.results.get(name))]).toEqual([name, verdict(plain.results.get(name))]);
    // mseal (Linux 6.10) is in the profile; a libseccomp too old to know it leaves it out, as runc
    // does, and then it is newer than every syscall the filter knows: ENOSYS, as on an older kernel.
    expect(confined.results.get('mseal')).toBe(filter.skipped.includes('mseal') ? 'ENOSYS' : plain.results.get('mseal'));
  });

  itProbe('CAP_SYS_ADMIN opens mount, unshare, setns, clone3 and clone with namespace flags, as Docker grants it', async () => {
    const caps = [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'];
    const r = await probe(await filterFor(defaultSeccompProfile(caps)), { caps });
    expect(r.seccomp).toBe('2');
    for (const name of ['unshare_0', 'unshare_badflag', 'mount', 'umount2', 'setns', 'clone3', 'clone_newns', 'bpf', 'perf_event_open'])
      expect([name, verdict(r.results.get(name))]).toEqual([name, 'allowed']);
    for (const name of ['keyctl', 'add_key', 'userfaultfd', 'personality_bad', 'socket_alg']) expect([name, r.results.get(name)]).toEqual([name, 'EPERM']);
  });

  itProbe('without no_new_privileges the filter is loaded before the capabilities are dropped', async () => {
    const r = await probe(await filterFor(defaultSeccompProfile(DEFAULT_CAPABILITIES)), { noNewPrivileges: false });
    expect(r.seccomp).toBe('2');
    expect(r.results.get('keyctl')).toBe('EPERM');
    expect(r.results.get('getpid')).toBe('ok');
  });

  itProbe('actions: errnoRet, KILL_PROCESS, TRAP, LOG; a default of ALLOW gets no ENOSYS stub', async () => {
    const filter = await filterFor({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      syscalls: [
        { names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['kcmp'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['request_key'], action: 'SCMP_ACT_TRAP' },
        { names: ['add_key'], action: 'SCMP_ACT_LOG' },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 6, op: 'SCMP_CMP_EQ' }] },
        { names: ['no_such_syscall'], action: 'SCMP_ACT_ERRNO' },
      ],
    });
    expect(filter.flags).toBe(6);
    expect(filter.skipped).toEqual(['no_such_syscall']);
    const r = await probe(filter);
    expect(r.seccomp).toBe('2');
    expect(r.results.get('keyctl')).toBe('EACCES');
    expect(r.results.get('kcmp')).toBe('signal31'); // SIGSYS
    expect(r.results.get('request_key')).toBe('signal31');
    expect(r.results.get('add_key')).toBe('EFAULT'); // logged, then run
    expect(r.results.get('personality_bad')).toBe('EPERM');
    expect(r.results.get('personality_query')).toBe('ok');
    expect(r.results.get('nr_400_hole')).toBe('ENOSYS'); // the kernel's own: allowed through
  });

  itProbe('exec processes get the filter given on their plan', async () => {
    const filter = await filterFor(defaultSeccompProfile(DEFAULT_CAPABILITIES));
    const r = await h.run('exec-target', ['sleep', '60']);
    const execId = `${r.id}-exec`;
    const out = join(h.stateRoot, `${execId}.out`);
    const plan = execPlan(h.spec(execId, [PROBE]).process, { id: execId, stateDir: join(h.stateRoot, execId), initPid: r.pid, cgroupPath: r.plan.cgroupPath, stdio: { stdout: { kind: 'file', path: out } }, seccomp: filter });
    const created = await createProcess(plan);
    await created.start();
    const res = parseProbe((await new Running(execId, plan, created, out).finish()).out);
    expect(res.seccomp).toBe('2');
    expect(res.results.get('keyctl')).toBe('EPERM');
    await r.monitor.kill('SIGKILL');
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('a filter that refuses what the helper needs before exec fails the start with stage seccomp or exec, never hangs', async () => {
    const filter = await filterFor({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ERRNO' }] });
    await expect(h.run('noexec', ['true'], { extra: planPart(filter) })).rejects.toMatchObject({ kind: 'PermissionDenied', message: expect.stringContaining('exec') });
    await h.teardownLeftovers();
  });
});
