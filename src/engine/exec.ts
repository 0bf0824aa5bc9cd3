/**
 * `exec`: a process in a running container (the task's exec, berth-helper in exec mode) whose
 * stdio the monitor holds; the caller's session is attached before it starts (nothing is
 * missed). The exec's record is removed once it exits, as Docker forgets finished execs.
 */
import { randomBytes } from 'node:crypto';
import type { Ctx } from '../core/context';
import { background } from '../core/context';
import { conflict, invalidArgument } from '../core/errors';
import type { OciProcess } from '../tasks/spec';
import { allCapabilities } from './caps';
import { mergeEnv } from './config';
import type { EngineDeps } from './deps';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys';
import type { EngineEvents } from './events';
import type { EngineRecord } from './record';
import { readRootfsFile } from './rootfs-files';
import { EngineSession } from './session';
import type { ExecOptions, ExecSession } from './types';
import { resolveUser } from './user';

class Exec extends EngineSession implements ExecSession {
  constructor(
    readonly execId: string,
    private readonly exited: Promise<number>,
    ...rest: ConstructorParameters<typeof EngineSession>
  ) {
    super(...rest);
  }
  wait(): Promise<number> {
    return this.exited;
  }
}

async function execProcess(d: EngineDeps, ctx: Ctx, r: EngineRecord, o: ExecOptions): Promise<OciProcess> {
  const c = await d.containers.get(ctx, r.id);
  const spec = JSON.parse(Buffer.from(c.spec?.value ?? '', 'base64').toString('utf8')) as { process: OciProcess };
  const p: OciProcess = JSON.parse(JSON.stringify(spec.process)) as OciProcess;
  p.args = o.cmd;
  p.terminal = o.tty ?? false;
  p.env = mergeEnv(p.env ?? [], o.env ?? []);
  if (o.workingDir) {
    if (!o.workingDir.startsWith('/')) throw invalidArgument(`the working directory '${o.workingDir}' is invalid: it needs to be an absolute path`);
    p.cwd = o.workingDir;
  }
  if (o.user) {
    const sn = d.snapshotters.get(r.snapshotter);
    const mounts = sn ? await sn.mounts(ctx, r.snapshotKey) : [];
    const u = resolveUser(o.user, readRootfsFile(mounts, '/etc/passwd'), readRootfsFile(mounts, '/etc/group'));
    p.user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids.length ? u.additionalGids : undefined };
  }
  if (o.privileged) {
    const all = allCapabilities();
    p.capabilities = { bounding: [...all], effective: [...all], permitted: [...all] };
  }
  return p;
}

export async function execIn(d: EngineDeps, events: EngineEvents, ctx: Ctx, r: EngineRecord, o: ExecOptions): Promise<ExecSession> {
  if (!o.cmd?.length) throw invalidArgument('exec: no command specified');
  if (r.state.status === 'paused') throw conflict(`container ${r.id} is paused, unpause the container before exec`);
  if (r.state.status !== 'running') throw conflict(`container ${r.id} is not running`);
  const execId = randomBytes(32).toString('hex');
  const tty = o.tty ?? false;
  const process = await execProcess(d, ctx, r, o);
  const detachKeys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
  await d.tasks.exec(ctx, { containerId: r.id, execId, io: { stdin: '', stdout: '', stderr: '', terminal: tty }, capture: { stdinOpen: !!o.stdin }, process });
  events.publish(ctx.ns, 'exec_create', r, { execID: execId });
  const pending = o.detach ? undefined : d.tasks.attach(ctx, r.id, execId, [...(o.stdin ? (['stdin'] as const) : []), 'stdout', 'stderr']);
  try {
    await pending?.requested;
    await d.tasks.start(ctx, r.id, execId);
  } catch (e) {
    pending?.close();
    await d.tasks.deleteProcess(ctx, r.id, execId).catch(() => undefined);
    throw e;
  }
  events.publish(ctx.ns, 'exec_start', r, { execID: execId });
  const bg = background(ctx.ns, { log: d.log });
  const exited = d.tasks.wait(bg, r.id, execId).then(async (exit) => {
    events.publish(ctx.ns, 'exec_die', r, { execID: execId, exitCode: String(exit.exitStatus) });
    await d.tasks.deleteProcess(bg, r.id, execId).catch(() => undefined);
    return exit.exitStatus;
  });
  exited.catch(() => undefined);
  const inner = pending ? await pending.session : undefined;
  const session = new Exec(execId, exited, { tty, stdin: !!o.stdin && !!inner?.stdin, detachKeys, closeStdinAtEnd: true, recorded: () => exited }, inner);
  if (!inner) session.close(); // exec -d: nothing to stream
  return session;
}
