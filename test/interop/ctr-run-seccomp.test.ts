/**
 * `ctr run --seccomp` (containerd's own default profile, contrib/seccomp, put in the spec by ctr)
 * against berthd and against a private containerd 1.6 + runc: the same spec reaches both, so the
 * probe (test/helpers/seccomp-probe.c) must see the same answer for every syscall it tries.
 */
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { buildProbe, parseProbe, probeSupported, verdict, type ProbeResult } from '../helpers/seccomp-probe';
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS } from '../tasks/ctr-fixture';

const f = new CtrFixture('seccomp');
let ctrd: Containerd | undefined;
let probeDir = '';
const itBoth = probeSupported ? itCtrRoot : it.skip;
const fullUidMap = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295';

beforeAll(async () => {
  await f.setup();
  if (!probeSupported || process.getuid?.() !== 0) return;
  probeDir = await buildProbe();
  ctrd = await startContainerd();
  const r = await ctrd.ctr(['images', 'import', join(f.work, 'busybox.tar')], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`containerd import: ${r.stderr}`);
}, 180_000);
afterAll(async () => {
  await ctrd?.stop();
  if (probeDir) await rm(probeDir, { recursive: true, force: true });
  await f.teardown();
}, 60_000);

const mount = () => ['--mount', `type=bind,src=${probeDir},dst=/probe,options=rbind:ro`];

async function probeOn(side: 'berth' | 'containerd', id: string, flags: string[]): Promise<ProbeResult> {
  const args = ['run', '--rm', ...flags, ...mount(), IMG, id, '/probe/seccomp-probe'];
  const r = side === 'berth' ? await f.ctr(args) : await ctrd!.ctr(args, { timeoutMs: 60_000 });
  expect({ side, code: r.code, stderr: r.stderr }).toEqual({ side, code: 0, stderr: '' });
  return parseProbe(r.stdout);
}

/** The verdict table, printed with SECCOMP_TABLE=1 (for the bench notes; the assertions do not need it). */
function printTable(plain: ProbeResult, berth: ProbeResult, runc: ProbeResult): void {
  if (!process.env.SECCOMP_TABLE) return;
  const rows = [...berth.results.keys()].map(
    (n) =>
      `| ${n} | ${plain.results.get(n)} | ${berth.results.get(n)} (${verdict(berth.results.get(n))}) | ${runc.results.get(n)} (${verdict(runc.results.get(n))}) |`,
  );
  process.stdout.write(['| syscall | no filter (berthd) | --seccomp berthd | --seccomp containerd+runc |', '|---|---|---|---|', ...rows, ''].join('\n'));
}

describe('ctr run --seccomp: berthd and containerd+runc', () => {
  itBoth('Seccomp: 2 in both, and the same answer for each of the probed syscalls', async () => {
    const plain = await probeOn('berth', 'sc-plain', []);
    const berth = await probeOn('berth', 'sc-berth', ['--seccomp']);
    const runc = await probeOn('containerd', 'sc-runc', ['--seccomp']);
    // The profile is compiled now: this run's plan is built ahead of Tasks/Create (warm-specs.ts), filter included.
    const again = await probeOn('berth', 'sc-berth-again', ['--seccomp']);
    expect(again).toEqual(berth);
    printTable(plain, berth, runc);
    expect(plain.seccomp).toBe('0');
    expect(berth.seccomp).toBe('2');
    expect(runc.seccomp).toBe('2');
    expect(berth.results.size).toBeGreaterThanOrEqual(40);
    expect(Object.fromEntries(berth.results)).toEqual(Object.fromEntries(runc.results));
    // What containerd's profile refuses, the kernel would have answered otherwise.
    for (const name of [
      'keyctl',
      'add_key',
      'request_key',
      'unshare_0',
      'mount',
      'userfaultfd',
      'perf_event_open',
      'bpf',
      'personality_bad',
      'clone_newns',
      'setns',
    ]) {
      expect([name, berth.results.get(name)]).toEqual([name, 'EPERM']);
      expect([name, verdict(plain.results.get(name))]).toEqual([name, 'allowed']);
    }
    for (const name of ['clone3', 'nr_1000']) expect([name, berth.results.get(name)]).toEqual([name, 'ENOSYS']);
    expect(berth.results.get('nr_400_hole')).toBe('EPERM'); // a hole below the newest known syscall: the default action
    for (const name of ['getpid', 'socket_netlink_audit', 'ptrace', 'chroot', 'clone_thread_only'])
      expect([name, verdict(berth.results.get(name))]).toEqual([name, 'allowed']);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itBoth('ctr task exec runs under the container profile in both', async () => {
    const run = async (side: 'berth' | 'containerd', id: string) => {
      const c = side === 'berth' ? f.ctr.bind(f) : (a: string[]) => ctrd!.ctr(a, { timeoutMs: 60_000 });
      expect((await c(['run', '-d', '--seccomp', ...mount(), IMG, id, 'sleep', '1000'])).code).toBe(0);
      try {
        const e = await c(['task', 'exec', '--exec-id', 'probe', id, '/probe/seccomp-probe']);
        expect({ side, code: e.code, stderr: e.stderr }).toEqual({ side, code: 0, stderr: '' });
        return parseProbe(e.stdout);
      } finally {
        await c(['task', 'kill', '-s', 'SIGKILL', id]);
        for (let i = 0; i < 100 && (await c(['task', 'ls'])).stdout.includes('RUNNING'); i++) await new Promise((r) => setTimeout(r, 50));
        await c(['task', 'rm', '-f', id]);
        await c(['containers', 'rm', id]);
      }
    };
    const berth = await run('berth', 'sc-exec-berth');
    const runc = await run('containerd', 'sc-exec-runc');
    expect(berth.seccomp).toBe('2');
    expect(runc.seccomp).toBe('2');
    expect(Object.fromEntries(berth.results)).toEqual(Object.fromEntries(runc.results));
    expect(berth.results.get('keyctl')).toBe('EPERM');
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  // berthd only: the private containerd's state dir (a 0700 temp dir) is out of reach of a remapped runc.
  (fullUidMap ? itBoth : it.skip)('--uidmap: the filter is loaded inside the user namespace, with the same answers', async () => {
    const maps = ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536'];
    const berth = await probeOn('berth', 'sc-userns-berth', ['--seccomp', ...maps]);
    const plain = await probeOn('berth', 'sc-userns-ref', ['--seccomp']);
    expect(berth.seccomp).toBe('2');
    expect(Object.fromEntries(berth.results)).toEqual(Object.fromEntries(plain.results));
    expect(berth.results.get('keyctl')).toBe('EPERM');
    expect(berth.results.get('unshare_0')).toBe('EPERM');
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itBoth('after a berthd restart, an exec in a running container still gets its profile (read back from the bundle)', async () => {
    const id = 'sc-restart';
    expect((await f.ctr(['run', '-d', '--seccomp', ...mount(), IMG, id, 'sleep', '1000'])).code).toBe(0);
    try {
      await f.proc.stop();
      await f.proc.start();
      const e = await f.ctr(['task', 'exec', '--exec-id', 'probe', id, '/probe/seccomp-probe']);
      expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 0, stderr: '' });
      const r = parseProbe(e.stdout);
      expect(r.seccomp).toBe('2');
      expect(r.results.get('keyctl')).toBe('EPERM');
      expect(r.results.get('clone3')).toBe('ENOSYS');
    } finally {
      await f.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
      for (let i = 0; i < 100 && (await f.ctr(['task', 'ls'])).stdout.includes('RUNNING'); i++) await new Promise((r) => setTimeout(r, 50));
      await f.ctr(['task', 'rm', '-f', id]);
      await f.ctr(['containers', 'rm', id]);
    }
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itBoth('--seccomp-profile: a custom profile applies in both; a malformed one is refused by both before anything runs', async () => {
    const good = join(f.work, 'good.json');
    await writeFile(
      good,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [
          { names: ['keyctl', 'no_such_syscall'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
          { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 6, op: 'SCMP_CMP_EQ' }] },
          {
            names: ['socket'],
            action: 'SCMP_ACT_ERRNO',
            args: [
              { index: 0, value: 16, op: 'SCMP_CMP_EQ' },
              { index: 2, value: 9, op: 'SCMP_CMP_EQ' },
            ],
          },
          { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0x10000, valueTwo: 0x10000, op: 'SCMP_CMP_MASKED_EQ' }] },
        ],
      }),
    );
    const flags = ['--seccomp', '--seccomp-profile', good];
    const berth = await probeOn('berth', 'sc-custom-berth', flags);
    const runc = await probeOn('containerd', 'sc-custom-runc', flags);
    expect(Object.fromEntries(berth.results)).toEqual(Object.fromEntries(runc.results));
    expect(berth.results.get('keyctl')).toBe('EACCES');
    expect(berth.results.get('personality_bad')).toBe('EPERM');
    expect(berth.results.get('socket_netlink_audit')).toBe('EPERM');
    expect(berth.results.get('clone_thread_only')).toBe('EPERM');
    expect(berth.results.get('mount')).toBe('EFAULT');

    for (const [name, bad] of [
      ['action', { defaultAction: 'SCMP_ACT_BOGUS' }],
      ['arch', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }],
      [
        'op',
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }] }] },
      ],
    ] as const) {
      const file = join(f.work, `bad-${name}.json`);
      await writeFile(file, JSON.stringify(bad));
      const b = await f.ctr(['run', '--rm', '--seccomp', '--seccomp-profile', file, IMG, `sc-bad-${name}`, 'true']);
      const c = await ctrd!.ctr(['run', '--rm', '--seccomp', '--seccomp-profile', file, IMG, `sc-bad-${name}-runc`, 'true'], { timeoutMs: 60_000 });
      expect([name, b.code === 0, c.code === 0]).toEqual([name, false, false]);
      expect(b.stderr).toMatch(/InvalidArgument|invalid argument/i);
      expect(b.stderr).toContain(name === 'action' ? 'SCMP_ACT_BOGUS' : name === 'arch' ? 'SCMP_ARCH_Z80' : 'SCMP_CMP_ABOUT');
      await f.ctr(['containers', 'rm', `sc-bad-${name}`]);
      await ctrd!.ctr(['containers', 'rm', `sc-bad-${name}-runc`]);
    }
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });
});
