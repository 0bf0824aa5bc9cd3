/** Helpers forked by the resident launcher (native/helper/launcher.c) instead of spawned by Node. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../src/core/logger';
import { mountPoints } from '../../src/net/netns';
import { createProcess, helperPath } from '../../src/tasks/helper';
import { discardLaunched, Launcher } from '../../src/tasks/helper/launcher';
import { expectClean, snapshot, type SystemSnapshot } from '../helpers/cleanup';
import { Harness, itRoot, type Running, until } from './harness';

const h = new Harness();
let launcher: Launcher;
let before: SystemSnapshot;
beforeAll(async () => {
  await h.setup();
  launcher = new Launcher(join(h.stateRoot, '.launcher.sock'), helperPath(), nullLogger);
  await launcher.ready(); // before the first leak snapshot: it stays for the whole file
});
afterAll(async () => {
  launcher?.close();
  await h.teardown();
});
beforeEach(() => {
  before = snapshot();
});
afterEach(async () => {
  // This also deletes the launcher's socket file: the next launch has to listen again.
  await h.teardownLeftovers();
  await expectClean(before);
});

const existsPid = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A container that runs until SIGTERM, then exits 0. A quick one (`true`) can end, and its helper
 * with it, before the test reads the helper's parent from /proc: under load that read failed.
 * It is its pid namespace's init, which ignores a signal it has no handler for: endByTerm() waits
 * for its "ready", printed once the trap is set, then sees it exit 0.
 */
const UNTIL_TERM = "trap 'exit 0' TERM; echo ready; sleep 60 & wait";

async function endByTerm(r: Running): Promise<void> {
  await until('the container to set its trap', async () => (await r.output()).includes('ready'));
  await r.monitor.kill('SIGTERM');
  expect((await r.finish()).status).toBe(0);
}

const ppid = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

describe('the helper launcher', () => {
  itRoot('launches helpers that run containers to their exit, as children of the launcher, not of berthd', async () => {
    const a = await h.run('la', ['sh', '-c', 'echo hi; exit 4'], { helper: { launcher } });
    const b = await h.run('lb', ['sleep', '60'], { helper: { launcher } });
    expect(b.created.helperPid).not.toBe(a.created.helperPid);
    const launcherPid = ppid(b.created.helperPid);
    expect(launcherPid).not.toBe(process.pid);
    expect(ppid(launcherPid)).toBe(process.pid);
    expect(readFileSync(`/proc/${launcherPid}/cmdline`, 'utf8').split('\0')).toContain('--launcher');
    expect(await a.finish()).toEqual({ status: 4, out: 'hi\n', oom: false });
    await b.monitor.kill('SIGKILL');
    expect((await b.finish()).status).toBe(137);
  });

  itRoot('an abort before start ends the launched helper and removes its cgroup', async () => {
    const id = h.nextId('abort');
    const created = await createProcess(h.plan(id, h.spec(id, ['true'])), { launcher });
    expect(created.helperPid).toBeGreaterThan(0);
    await created.abort();
    // abort() returns once the helper let go of its sync connection, which it does on its way
    // out (after killing the child and removing the cgroup): the pid itself is gone a moment later.
    for (let i = 0; i < 200 && existsPid(created.helperPid); i++) await new Promise((r) => setTimeout(r, 5));
    expect(existsPid(created.helperPid)).toBe(false);
  });

  itRoot('a helper launched ahead but not used exits (a create that failed before its plan)', async () => {
    const launching = launcher.launch('unused');
    const { pid } = await launching;
    discardLaunched(launching);
    for (let i = 0; i < 200 && existsPid(pid); i++) await new Promise((r) => setTimeout(r, 5));
    expect(existsPid(pid)).toBe(false);
    // A bad plan handed over with a prelaunched helper also lets it go.
    const again = launcher.launch('bad-plan');
    const { pid: pid2 } = await again;
    await expect(createProcess({ id: '', stateDir: 'relative' } as never, { prelaunched: again })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    for (let i = 0; i < 200 && existsPid(pid2); i++) await new Promise((r) => setTimeout(r, 5));
    expect(existsPid(pid2)).toBe(false);
  });

  itRoot('a helper failure comes back through the launched connections', async () => {
    const id = h.nextId('fail');
    const plan = h.plan(id, h.spec(id, ['/no/such/binary']));
    const created = await createProcess(plan, { launcher });
    await expect(created.start()).rejects.toThrow(/no\/such\/binary/);
  });

  itRoot('with a spare: a launch takes the helper forked ahead and forks the next; close() ends the spare', async () => {
    const spares = new Launcher(join(h.stateRoot, '.spare.sock'), helperPath(), nullLogger, { spare: true });
    const helpersOf = (launcherPid: number) =>
      readFileSync(`/proc/${launcherPid}/task/${launcherPid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    try {
      // Alive until told, as `second` below: its parent is read first.
      const a = await h.run('sa', ['sh', '-c', UNTIL_TERM], { helper: { launcher: spares } });
      const launcherPid = ppid(a.created.helperPid);
      await endByTerm(a);
      // The spare: forked during that launch, connected, waiting for a plan.
      const spare = await until('a spare helper', () => helpersOf(launcherPid).find((p) => p !== a.created.helperPid));
      const b = await h.run('sb', ['sh', '-c', 'exit 3'], { helper: { launcher: spares } });
      expect(b.created.helperPid).toBe(spare);
      expect((await b.finish()).status).toBe(3);
      const next = await until('the next spare', () => helpersOf(launcherPid).find((p) => p !== spare && p !== a.created.helperPid));
      // A spare that died while waiting is replaced by a fresh launch, not handed out.
      process.kill(next, 'SIGKILL');
      await until('the spare gone', () => !existsPid(next));
      const c = await h.run('sc', ['true'], { helper: { launcher: spares } });
      expect(c.created.helperPid).not.toBe(next);
      expect((await c.finish()).status).toBe(0);
      const last = await until('a spare after the replacement', () => helpersOf(launcherPid).find((p) => p !== c.created.helperPid));
      spares.close();
      // Its launcher is gone too, so it is reaped by whoever adopted it: a zombie counts as ended.
      const ended = (pid: number) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
        } catch {
          return true;
        }
      };
      await until('the spare ended by close()', () => ended(last));
    } finally {
      spares.close();
    }
  });

  itRoot('removeTree: deletes a tree in a trash dir in the background, without following symlinks; refuses other paths', async () => {
    const outside = join(h.stateRoot, 'keep-me');
    writeFileSync(outside, 'kept');
    const tree = join(h.stateRoot, 'trash', 'c1-1.1');
    mkdirSync(join(tree, 'rootfs', 'deep', 'er'), { recursive: true });
    writeFileSync(join(tree, 'config.json'), '{}');
    writeFileSync(join(tree, 'rootfs', 'deep', 'er', 'f'), 'x');
    symlinkSync(outside, join(tree, 'link-out'));
    symlinkSync(h.stateRoot, join(tree, 'rootfs', 'dir-link-out'));
    expect(launcher.removeTree(tree)).toBe(true);
    await until('the tree gone', () => !existsSync(tree));
    expect(readFileSync(outside, 'utf8')).toBe('kept');
    expect(existsSync(join(h.stateRoot, 'trash'))).toBe(true); // only the tree, not its trash dir
    const notTrash = join(h.stateRoot, 'not-trash', 'x');
    mkdirSync(notTrash, { recursive: true });
    for (const bad of [notTrash, 'trash/relative', join(h.stateRoot, 'trash', '..', 'not-trash', 'x'), `${tree}\nrm /`]) expect(launcher.removeTree(bad)).toBe(false);
    expect(existsSync(notTrash)).toBe(true);
    rmSync(join(h.stateRoot, 'trash'), { recursive: true });
    rmSync(join(h.stateRoot, 'not-trash'), { recursive: true });
    rmSync(outside);
  });

  itRoot('netns: a new network namespace with lo up, bind-mounted on a file in a netns dir; other paths refused', async () => {
    const dir = join(h.stateRoot, 'netns');
    mkdirSync(join(dir, 'a-dir'), { recursive: true });
    const pinned = join(dir, 'n1');
    writeFileSync(pinned, '');
    await launcher.netns(pinned);
    try {
      expect((await mountPoints()).has(pinned)).toBe(true);
      expect(statSync(pinned).ino).not.toBe(statSync('/proc/self/ns/net').ino);
      const lo = spawnSync('nsenter', [`--net=${pinned}`, 'ip', '-j', 'link', 'show', 'lo'], { encoding: 'utf8' });
      expect(lo.status).toBe(0);
      expect((JSON.parse(lo.stdout) as Array<{ flags: string[] }>)[0]!.flags).toContain('UP');
      const links = spawnSync('nsenter', [`--net=${pinned}`, 'ip', '-j', 'link', 'show'], { encoding: 'utf8' });
      expect((JSON.parse(links.stdout) as Array<{ ifname: string }>).map((l) => l.ifname)).toEqual(['lo']);
    } finally {
      expect(spawnSync('umount', [pinned]).status).toBe(0);
    }
    const elsewhere = join(h.stateRoot, 'not-netns', 'n2');
    mkdirSync(join(elsewhere, '..'), { recursive: true });
    writeFileSync(elsewhere, '');
    await expect(launcher.netns(elsewhere)).rejects.toThrow(/not a path the launcher takes/);
    // The launcher's own checks: a directory, a missing file (nothing to mount on).
    await expect(launcher.netns(join(dir, 'a-dir'))).rejects.toThrow(/EINVAL/);
    await expect(launcher.netns(join(dir, 'missing'))).rejects.toThrow(/EINVAL/);
    const mounted = await mountPoints();
    for (const p of [join(dir, 'a-dir'), join(dir, 'missing'), elsewhere]) expect(mounted.has(p)).toBe(false);
    rmSync(dir, { recursive: true });
    rmSync(join(elsewhere, '..'), { recursive: true });
  });

  itRoot('netns-rm: unmounts a namespace pinned in a netns dir (the kernel then frees it); nothing mounted and other paths refused', async () => {
    const dir = join(h.stateRoot, 'netns');
    mkdirSync(dir, { recursive: true });
    const pinned = join(dir, 'r1');
    writeFileSync(pinned, '');
    await launcher.netns(pinned);
    const ino = statSync(pinned).ino;
    try {
      await launcher.unmountNetns(pinned);
    } finally {
      if ((await mountPoints()).has(pinned)) spawnSync('umount', [pinned]);
    }
    expect((await mountPoints()).has(pinned)).toBe(false);
    expect(statSync(pinned).ino).not.toBe(ino);
    // Nothing mounted there any more, a path outside a netns dir, a missing file.
    await expect(launcher.unmountNetns(pinned)).rejects.toThrow(/could not unmount it: EINVAL/);
    const elsewhere = join(h.stateRoot, 'not-netns', 'r2');
    mkdirSync(join(elsewhere, '..'), { recursive: true });
    writeFileSync(elsewhere, '');
    await expect(launcher.unmountNetns(elsewhere)).rejects.toThrow(/not a path the launcher takes/);
    await expect(launcher.unmountNetns(join(dir, 'missing'))).rejects.toThrow(/EINVAL/);
    rmSync(dir, { recursive: true });
    rmSync(join(elsewhere, '..'), { recursive: true });
  });

  itRoot('exec: runs a tool in a child of the launcher: stdin, stdout, stderr, exit code or signal, only the given environment', async () => {
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ONLY: 'this' };
    expect(await launcher.exec('cat', [], { input: 'in\n', env })).toEqual({ code: 0, signal: null, stdout: 'in\n', stderr: '' });
    expect(await launcher.exec('sh', ['-c', 'echo out; echo err >&2; env | sort; exit 3'], { env })).toEqual({
      code: 3,
      signal: null,
      stdout: `out\nONLY=this\nPATH=${env.PATH}\nPWD=${process.cwd()}\n`,
      stderr: 'err\n',
    });
    expect(await launcher.exec('/bin/sh', ['-c', 'kill -9 $$'], { env })).toMatchObject({ code: null, signal: 'SIGKILL' });
    // Its parent is a child of the launcher (whose parent is berthd, this process).
    const [parent, grandparent] = (await launcher.exec('sh', ['-c', 'echo $PPID; cut -d" " -f4 /proc/$PPID/stat'], { env })).stdout.split('\n').map(Number);
    expect(parent).not.toBe(process.pid);
    expect(readFileSync(`/proc/${grandparent}/cmdline`, 'utf8').split('\0')).toContain('--launcher');
    expect(ppid(grandparent!)).toBe(process.pid);
    expect((await launcher.exec('head', ['-c', '3000000', '/dev/zero'], { env, maxOutputBytes: 1000 })).stdout).toHaveLength(1000);
    await expect(launcher.exec('no-such-tool-here', [], { env })).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    const pidFile = join(h.stateRoot, 'slow.pid');
    await expect(launcher.exec('sh', ['-c', `echo $$ > ${pidFile}; exec sleep 30`], { env, timeoutMs: 300 })).rejects.toMatchObject({ kind: 'DeadlineExceeded' });
    const slow = Number(readFileSync(pidFile, 'utf8'));
    await until('the timed-out tool killed', () => !existsPid(slow));
    rmSync(pidFile);
  });

  // Last: it ends with the launcher closed.
  itRoot('a launcher that died is started again by the next launch; close() ends it', async () => {
    // Still running while we read its parent (a `true` and its monitor may be gone already).
    const first = await h.run('k1', ['sleep', '60'], { helper: { launcher } });
    const dead = ppid(first.created.helperPid);
    await first.monitor.kill('SIGKILL');
    expect((await first.finish()).status).toBe(137);
    process.kill(dead, 'SIGKILL');
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(dead, 0);
        await new Promise((r) => setTimeout(r, 10));
      } catch {
        break;
      }
    }
    const second = await h.run('k2', ['sh', '-c', UNTIL_TERM], { helper: { launcher } });
    const again = ppid(second.created.helperPid);
    expect(again).not.toBe(dead);
    await endByTerm(second);
    launcher.close();
    await expect(createProcess(h.plan('x', h.spec('x', ['true'])), { launcher })).rejects.toThrow(/shutting down/);
    for (let i = 0; i < 200 && existsPid(again); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsPid(again)).toBe(false);
  });
});
