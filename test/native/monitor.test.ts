/** The monitor outlives the Node side that launched it; exec mode joins a running container. */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connectMonitor, createProcess, encodePlan, helperPath, MonitorClient, removeStateDir } from '../../src/tasks/helper';
import { execPlan } from '../../src/tasks/spec';
import { itRoot, Running, until, useHarness } from './harness';

const h = useHarness();

/** A separate Node process that launches the container and then just stays alive. */
const LAUNCHER = `
const { spawn } = require('child_process');
const fs = require('fs');
const [helper, planPath] = process.argv.slice(1);
const c = spawn(helper, [], { detached: true, stdio: ['ignore', 'ignore', 'ignore', fs.openSync(planPath, 'r'), 'pipe'] });
let buf = '';
c.stdio[4].setEncoding('utf8');
c.stdio[4].on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.type === 'created') c.stdio[4].write('start\\n');
    else process.stdout.write(JSON.stringify(m) + '\\n');
  }
});
setInterval(() => {}, 1000);
`;

describe('berth-helper monitor', () => {
  itRoot('survives SIGKILL of the launching Node process; a new client reconnects and gets the exit status', async () => {
    const id = h.nextId('reconnect');
    const stop = join(h.rootfs.rootfs, 'tmp', `stop-${id}`);
    const plan = h.plan(id, h.spec(id, ['sh', '-c', `while [ ! -e /tmp/stop-${id} ]; do sleep 0.02; done; exit 7`]));
    const planPath = join(h.stateRoot, `${id}.plan`);
    await writeFile(planPath, encodePlan(plan));
    const launcher = spawn(process.execPath, ['-e', LAUNCHER, helperPath(), planPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await new Promise<{ type: string; pid: number }>((resolve, reject) => {
      let out = '';
      launcher.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      launcher.once('exit', () => reject(new Error(`launcher exited early: ${out}`)));
    });
    expect(started.type).toBe('started');
    launcher.removeAllListeners('exit');
    const gone = new Promise((r) => launcher.once('exit', r));
    launcher.kill('SIGKILL');
    await gone;

    const { client, state } = await connectMonitor(plan.stateDir);
    expect(state).toEqual({ pid: started.pid, status: 'running' });
    const exit = client.wait();
    await writeFile(stop, '');
    expect(await exit).toMatchObject({ pid: started.pid, exitStatus: 7, oomKilled: false });
    await removeStateDir(plan.stateDir);
    await rm(stop);
    await rm(planPath);
  });

  itRoot('killed while nobody is connected: the status is still there later', async () => {
    const r = await h.run('unwatched', ['sleep', '60']);
    process.kill(r.pid, 'SIGKILL');
    await until('exit file', () => existsSync(join(r.plan.stateDir, 'exit.json')));
    await until('monitor gone', () => !existsSync(join(r.plan.stateDir, 'monitor.sock')));
    const client = new MonitorClient(r.plan.stateDir);
    expect(await client.state()).toMatchObject({ pid: r.pid, status: 'stopped', exit: { exitStatus: 137 } });
    expect((await client.wait()).exitStatus).toBe(137);
    await expect(client.kill('SIGTERM')).rejects.toMatchObject({ kind: 'NotFound' });
    await r.remove();
  });

  itRoot("holds the container's mount namespace (its teardown waits until the waiters are answered)", async () => {
    const r = await h.run('holds-mntns', ['sleep', '60']);
    const nsOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/mnt`);
    const held = (monitorPid: number) =>
      readdirSync(`/proc/${monitorPid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${monitorPid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
    const containerNs = nsOf(r.pid);
    expect(containerNs).not.toBe(nsOf(process.pid));
    expect(held(r.created.helperPid)).toContain(containerNs);
    await r.monitor.kill('SIGKILL');
    expect((await r.finish()).status).toBe(137);
  });

  itRoot('a dead monitor without exit status fails fast as Unavailable', async () => {
    const dir = join(h.stateRoot, 'nothing-here');
    await expect(connectMonitor(dir)).rejects.toMatchObject({ kind: 'Unavailable' });
  });

  itRoot('exec joins the container namespaces and cgroup, monitored on its own', async () => {
    const r = await h.run('exec-target', ['sleep', '60'], { tweak: (s) => (s.hostname = 'target') });
    const execId = `${r.id}-exec`;
    const out = join(h.stateRoot, `${execId}.out`);
    // The shell counts /proc's pid entries itself (a glob, no fork): `ls /proc | grep -c` raced
    // the pipeline's second fork against ls reading /proc (3 or 4 on a busy machine).
    const spec = h.spec(execId, ['sh', '-c', 'echo $$; hostname; set -- /proc/[0-9]*; echo $#; grep -c . /proc/self/fd/0 || true']);
    const plan = execPlan(spec.process, {
      id: execId,
      stateDir: join(h.stateRoot, execId),
      initPid: r.pid,
      cgroupPath: r.plan.cgroupPath,
      stdio: { stdout: { kind: 'file', path: out } },
    });
    const created = await createProcess(plan);
    await created.start();
    const e = new Running(execId, plan, created, out);
    const res = await e.finish();
    expect(res.status).toBe(0);
    const [pid, host, nprocs] = res.out.split('\n');
    expect(Number(pid)).toBeGreaterThan(1);
    expect(host).toBe('target');
    expect(Number(nprocs)).toBe(2); // sleep (pid 1) and this sh: the container pid namespace
    await r.monitor.kill('SIGKILL');
    expect((await r.finish()).status).toBe(137);
  });
});
