/** Tasks service over raw gRPC: state machine edges ctr relies on, and error shapes. */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { call, nsMetadata, rawClient, startInProcess } from '../helpers/daemon';
import { makeBusyboxRootfs, type BusyboxRootfs } from '../helpers/busybox-rootfs';
import { unpackAny } from '../../src/api/proto';
import { defaultSpec } from '../../src/tasks/spec';
import { stdioFor } from '../../src/tasks';
import { errorKind } from '../../src/core/errors';
import { itWith, requireRoot } from '../helpers/requires';

const itRoot = itWith(requireRoot());
const NS = `svc-${process.pid}`;
const md = () => nsMetadata(NS);
const SPEC = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';

describe('stdio URIs', () => {
  it('FIFO paths, file:// and rejections', () => {
    expect(stdioFor('', 'x')).toEqual({ kind: 'null' });
    expect(stdioFor('/run/containerd/fifo/1/a-stdout', 'x')).toEqual({ kind: 'fifo', path: '/run/containerd/fifo/1/a-stdout' });
    expect(stdioFor('file:///var/log/a%20b.log', 'x')).toEqual({ kind: 'file', path: '/var/log/a b.log' });
    const kindOf = (uri: string): string | undefined => {
      try {
        stdioFor(uri, 'x');
        return undefined;
      } catch (e) {
        return errorKind(e);
      }
    };
    for (const bad of ['binary:///usr/bin/logger?a=b', 'relative/path', 'http://x/y', 'file://relative']) expect(kindOf(bad)).toBe('InvalidArgument');
  });
});

describe('Tasks service', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let rootfs: BusyboxRootfs;
  let work: string;
  let tasks: ReturnType<typeof rawClient>;
  let containers: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    d = await startInProcess({ gc: { scheduleDelayMs: 3_600_000 } });
    rootfs = await makeBusyboxRootfs();
    work = await mkdtemp(join(tmpdir(), 'berth-tasks-svc-'));
    tasks = rawClient(d.daemon.address, 'containerd.services.tasks.v1.Tasks');
    containers = rawClient(d.daemon.address, 'containerd.services.containers.v1.Containers');
  });
  afterAll(async () => {
    tasks.close();
    containers.close();
    await d.stop();
    await rootfs.remove();
    await rm(work, { recursive: true, force: true });
  });

  async function container(id: string, args: string[], runtime = 'io.containerd.runc.v2') {
    const spec = defaultSpec({ id, namespace: NS, args });
    await call(
      containers,
      'Create',
      { container: { id, runtime: { name: runtime }, spec: { type_url: SPEC, value: Buffer.from(JSON.stringify(spec)) } } },
      md(),
    );
  }
  const create = (id: string, extra: Record<string, unknown> = {}) =>
    call(
      tasks,
      'Create',
      { container_id: id, rootfs: [{ type: 'bind', source: rootfs.rootfs, options: ['rbind', 'rw'] }], stdout: `file://${join(work, `${id}.out`)}`, ...extra },
      md(),
    );
  const cleanup = async (id: string) => {
    await call(tasks, 'Delete', { container_id: id }, md()).catch(() => undefined);
    await call(containers, 'Delete', { id }, md());
  };

  itRoot('Wait sent before Start blocks on a CREATED task and returns the exit status', async () => {
    await container('waitfirst', ['sh', '-c', 'echo hi; exit 7']);
    const { pid } = await create('waitfirst');
    expect((await call(tasks, 'Get', { container_id: 'waitfirst' }, md())).process).toMatchObject({
      id: 'waitfirst',
      container_id: '',
      pid,
      status: 'CREATED',
    });
    let waited = false;
    const wait = call(tasks, 'Wait', { container_id: 'waitfirst' }, md()).then((r) => ((waited = true), r));
    await new Promise((r) => setTimeout(r, 200));
    expect(waited).toBe(false);
    expect(await call(tasks, 'Start', { container_id: 'waitfirst' }, md())).toMatchObject({ pid });
    expect(await wait).toMatchObject({ exit_status: 7 });
    expect((await call(tasks, 'Get', { container_id: 'waitfirst' }, md())).process).toMatchObject({ status: 'STOPPED', exit_status: 7 });
    // ResizePty and CloseIO after exit still succeed (ctr sends them late)
    await call(tasks, 'ResizePty', { container_id: 'waitfirst', width: 100, height: 40 }, md());
    await call(tasks, 'CloseIO', { container_id: 'waitfirst', stdin: true }, md());
    expect(readFileSync(join(work, 'waitfirst.out'), 'utf8')).toBe('hi\n');
    expect(await call(tasks, 'Delete', { container_id: 'waitfirst' }, md())).toMatchObject({ id: '', pid, exit_status: 7 });
    await expect(call(tasks, 'Get', { container_id: 'waitfirst' }, md())).rejects.toMatchObject({ code: status.NOT_FOUND });
    await cleanup('waitfirst');
  });

  itRoot('Delete of a CREATED task kills it; Start afterwards is NotFound', async () => {
    await container('created', ['sleep', '1000']);
    await create('created');
    const wait = call(tasks, 'Wait', { container_id: 'created' }, md());
    expect(await call(tasks, 'Delete', { container_id: 'created' }, md())).toMatchObject({ exit_status: 137 });
    expect(await wait).toMatchObject({ exit_status: 137 });
    await expect(call(tasks, 'Start', { container_id: 'created' }, md())).rejects.toMatchObject({ code: status.NOT_FOUND });
    await cleanup('created');
  });

  itRoot('running: Delete is FailedPrecondition; Update, Metrics, ListPids with an exec', async () => {
    await container('busy', ['sleep', '1000']);
    await create('busy');
    await call(tasks, 'Start', { container_id: 'busy' }, md());
    await expect(call(tasks, 'Delete', { container_id: 'busy' }, md())).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await expect(call(tasks, 'Create', { container_id: 'busy' }, md())).rejects.toMatchObject({ code: status.ALREADY_EXISTS });

    await call(
      tasks,
      'Update',
      {
        container_id: 'busy',
        resources: {
          type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
          value: Buffer.from(JSON.stringify({ memory: { limit: 50331648 }, pids: { limit: 42 } })),
        },
      },
      md(),
    );
    const { metrics } = await call(tasks, 'Metrics', { filters: ['id==busy'] }, md());
    expect(metrics).toHaveLength(1);
    expect(metrics[0].data.type_url).toMatch(/^io\.containerd\.cgroups\.v[12]\.Metrics$/);
    const m = unpackAny<any>(metrics[0].data);
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      expect(metrics[0].data.type_url).toBe('io.containerd.cgroups.v2.Metrics');
      expect(m.memory).toMatchObject({ usage_limit: '50331648', usage: expect.stringMatching(/^[1-9]\d*$/), anon: expect.stringMatching(/^\d+$/) });
      expect(m.memory_events).toMatchObject({ oom: expect.stringMatching(/^\d+$/), oom_kill: '0' });
      expect(m.cpu.usage_usec).toMatch(/^\d+$/);
    } else {
      expect(metrics[0].data.type_url).toBe('io.containerd.cgroups.v1.Metrics');
      expect(m.memory.usage.limit).toBe('50331648');
      expect(m.cpu.usage).toBeTruthy();
    }
    expect(m.pids).toMatchObject({ current: '1', limit: '42' });

    const proc = defaultSpec({ id: 'x', args: ['sleep', '1000'] }).process;
    await call(
      tasks,
      'Exec',
      {
        container_id: 'busy',
        exec_id: 'ex1',
        spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(proc)) },
      },
      md(),
    );
    const { pid: execPid } = await call(tasks, 'Start', { container_id: 'busy', exec_id: 'ex1' }, md());
    const { processes } = await call(tasks, 'ListPids', { container_id: 'busy' }, md());
    expect(processes).toHaveLength(2);
    const ex = processes.find((p: any) => p.pid === execPid);
    expect(unpackAny(ex.info)).toEqual({ exec_id: 'ex1' });
    expect(processes.find((p: any) => p.pid !== execPid).info).toBeNull();
    expect((await call(tasks, 'Get', { container_id: 'busy', exec_id: 'ex1' }, md())).process).toMatchObject({ id: 'ex1', status: 'RUNNING' });

    await call(tasks, 'Kill', { container_id: 'busy', signal: 9, all: true }, md());
    expect(await call(tasks, 'Wait', { container_id: 'busy' }, md())).toMatchObject({ exit_status: 137 });
    expect(await call(tasks, 'Wait', { container_id: 'busy', exec_id: 'ex1' }, md())).toMatchObject({ exit_status: 137 });
    expect(await call(tasks, 'DeleteProcess', { container_id: 'busy', exec_id: 'ex1' }, md())).toMatchObject({ id: 'ex1', exit_status: 137 });
    await cleanup('busy');
  });

  itRoot('runs the spec the container holds at Tasks/Create, also when it changed after Containers/Create', async () => {
    const run = async (id: string) => {
      await create(id);
      const wait = call(tasks, 'Wait', { container_id: id }, md());
      await call(tasks, 'Start', { container_id: id }, md());
      expect(await wait).toMatchObject({ exit_status: 0 });
      return readFileSync(join(work, `${id}.out`), 'utf8');
    };
    // Validated ahead (TaskManager.warmSpec) while nothing else happens.
    await container('warmed', ['sh', '-c', 'echo as-created']);
    await new Promise((r) => setTimeout(r, 20));
    expect(await run('warmed')).toBe('as-created\n');
    await cleanup('warmed');
    // A spec updated after that is the one that runs.
    await container('respec', ['sh', '-c', 'echo as-created']);
    await new Promise((r) => setTimeout(r, 20));
    const spec = defaultSpec({ id: 'respec', namespace: NS, args: ['sh', '-c', 'echo as-updated'] });
    await call(
      containers,
      'Update',
      { container: { id: 'respec', spec: { type_url: SPEC, value: Buffer.from(JSON.stringify(spec)) } }, update_mask: { paths: ['spec'] } },
      md(),
    );
    expect(await run('respec')).toBe('as-updated\n');
    await cleanup('respec');
  });

  itRoot('errors: unknown runtime, missing container, Checkpoint', async () => {
    await container('otherrt', ['true'], 'io.containerd.kata.v2');
    await expect(create('otherrt')).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: expect.stringMatching(/runtime "io\.containerd\.kata\.v2".*not supported/),
    });
    await call(containers, 'Delete', { id: 'otherrt' }, md());
    await expect(create('nosuch')).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(call(tasks, 'Checkpoint', { container_id: 'nosuch' }, md())).rejects.toMatchObject({
      code: status.UNIMPLEMENTED,
      details: expect.stringMatching(/checkpoint is not supported/),
    });
    await expect(call(tasks, 'Get', { container_id: 'x' }, nsMetadata(''))).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
  });
});
