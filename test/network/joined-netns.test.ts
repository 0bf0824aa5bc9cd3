/**
 * A namespace a `container:` joiner keeps alive: the kernel never takes its veths down, so the
 * detach of the container whose namespace it was deletes its host end at once instead of waiting
 * out linksGone's bound for the kernel (src/net/links.ts, src/net/netns.ts netnsHeld).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readlinkSync, statSync } from 'node:fs';
import { linkExists, linksGone } from '../../src/net/links';
import { netnsHeld } from '../../src/net/netns';
import { uniqueName } from '../helpers/net';
import { describeWith, requireRoot, requireTool } from '../helpers/requires';
import { until } from '../helpers/until';

describeWith(requireRoot(), requireTool('unshare', 'ip'))('a network namespace a process keeps', () => {
  let holder: ChildProcess | undefined;

  /** A process in a namespace of its own; the namespace's inode. */
  const hold = async (): Promise<number> => {
    holder = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
    const own = readlinkSync('/proc/self/ns/net');
    await until('the holder in its own namespace', () => {
      try {
        return readlinkSync(`/proc/${holder!.pid}/ns/net`) !== own || undefined;
      } catch {
        return undefined;
      }
    });
    return statSync(`/proc/${holder.pid}/ns/net`).ino;
  };
  const release = async () => {
    if (!holder || holder.exitCode !== null || holder.signalCode !== null) return;
    const exited = new Promise((r) => holder!.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
  };
  afterEach(release);

  it('netnsHeld finds the process in it, and nothing once it is gone', async () => {
    const ino = await hold();
    expect(netnsHeld(ino)).toBe(true);
    expect(netnsHeld(statSync('/proc/self/ns/net').ino)).toBe(true);
    await release();
    expect(netnsHeld(ino)).toBe(false);
  });

  it('linksGone deletes a veth whose namespace is kept, without waiting for the kernel', async () => {
    const ino = await hold();
    const [host, peer] = [uniqueName('bjh'), uniqueName('bjp')];
    execFileSync('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    try {
      execFileSync('ip', ['link', 'set', peer, 'netns', String(holder!.pid)]);
      // A bound far past the test's timeout: only the held() answer can end the wait in time.
      await linksGone([host], { ms: 600_000, held: () => netnsHeld(ino) });
      expect(linkExists(host)).toBe(false);
    } finally {
      if (linkExists(host)) execFileSync('ip', ['link', 'del', host]);
    }
  }, 20_000);
});
