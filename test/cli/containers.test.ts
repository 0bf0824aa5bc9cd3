/**
 * The built `berth` binary against a berthd child process: run (exit codes, --rm, -d, the
 * create flags reaching the process), ps/logs/exec/top/stats/pause/rename/restart/kill/stop/
 * wait/rm, start -a, stop escalating to SIGKILL, commit then run of the committed image, and
 * bad input: one line, a non-zero exit, nothing half-created.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliFixture } from '../helpers/cli';
import { until } from '../helpers/until';
import { itRoot } from '../engine/it-root';

const f = CliFixture.use('cli');

const ids = async () => (await f.ok(['ps', '-a', '-q'])).split('\n').filter(Boolean);

describe('berth CLI: containers', () => {
  itRoot('run exits with the container code, prints its stdout and stderr apart, and --rm leaves nothing', async () => {
    const r = await f.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    expect(await ids()).toEqual([]);
    expect((await f.berth(['run', '--rm', 'busybox', 'true'])).code).toBe(0);
    // Docker's codes for a command that is not there (127) or cannot be run (126).
    const missing = await f.berth(['run', '--rm', 'busybox', '/no/such/cmd']);
    expect(missing.code).toBe(127);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect((await f.berth(['run', '--rm', 'busybox', '/etc/passwd'])).code).toBe(126);
    expect(await ids()).toEqual([]);
  });

  itRoot('run -i passes stdin; the create flags reach the process', async () => {
    expect((await f.berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'hello\n' })).stdout).toBe('HELLO\n');
    // The process exits right after its input, racing berth's close-stdin: its output and exit must still arrive (1 in 12 lost them once).
    for (let i = 0; i < 15; i++)
      expect(await f.berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'read x; echo got $x; exit 6'], { input: 'word\n' })).toMatchObject({
        code: 6,
        stdout: 'got word\n',
      });
    const envFile = join(f.work, 'env');
    await writeFile(envFile, '# comment\nFROM_FILE=yes\n');
    const out = await f.ok([
      'run',
      '--rm',
      '-e',
      'A=1',
      '--env-file',
      envFile,
      '-w',
      '/tmp',
      '-u',
      '65534:65534',
      '--hostname',
      'boaty',
      'busybox',
      'sh',
      '-c',
      'echo $A $FROM_FILE; pwd; id -u; id -g; hostname',
    ]);
    expect(out).toBe('1 yes\n/tmp\n65534\n65534\nboaty\n');
    expect(await f.ok(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint'])).toBe('from entrypoint\n');
    const ro = await f.berth(['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toMatch(/Read-only file system/);
    // Capabilities: CapEff of PID 1 with the default set, with one dropped, and privileged.
    const capEff = async (...flags: string[]) =>
      BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(await f.ok(['run', '--rm', ...flags, 'busybox', 'cat', '/proc/self/status']))![1]}`);
    const def = await capEff();
    expect(def & (1n << 13n)).toBe(1n << 13n); // CAP_NET_RAW is in Docker's default set
    expect((await capEff('--cap-drop', 'NET_RAW')) & (1n << 13n)).toBe(0n);
    expect((await capEff('--cap-add', 'SYS_ADMIN')) & (1n << 21n)).toBe(1n << 21n);
    expect(await capEff('--privileged')).toBeGreaterThan(def);
    // --init: PID 1 is the init, the command runs under it.
    expect(await f.ok(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$'])).not.toMatch(/^sh /);
    // no-new-privileges and seccomp=unconfined reach the process's status.
    expect(await f.ok(['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])).toMatch(/NoNewPrivs:\s*1/);
    expect(await f.ok(['run', '--rm', 'busybox', 'grep', 'Seccomp:', '/proc/self/status'])).toMatch(/Seccomp:\s*2/);
    expect(await f.ok(['run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'grep', 'Seccomp:', '/proc/self/status'])).toMatch(/Seccomp:\s*0/);
    const profile = join(f.work, 'seccomp.json');
    await writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    const denied = await f.berth(['run', '--rm', '--security-opt', `seccomp=${profile}`, 'busybox', 'mkdir', '/tmp/x']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/Operation not permitted/);
  });

  itRoot('-v binds a host directory (read-write and :ro); --restart on-failure restarts until its count', async () => {
    const host = join(f.work, 'shared');
    await mkdir(host);
    await writeFile(join(host, 'in.txt'), 'from the host\n');
    expect(await f.ok(['run', '--rm', '-v', `${host}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo back > /data/out.txt'])).toBe('from the host\n');
    expect(await readFile(join(host, 'out.txt'), 'utf8')).toBe('back\n');
    const ro = await f.berth(['run', '--rm', '-v', `${host}:/data:ro`, 'busybox', 'touch', '/data/x']);
    expect(ro.code).toBe(1);
    const id = (await f.ok(['run', '-d', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo try; exit 3'])).trim();
    await until('two restarts', async () => (await f.ok(['inspect', '--format', '{{.RestartCount}} {{.State.Status}}', id])) === '2 exited\n', 30_000);
    expect(await f.ok(['logs', id])).toBe('try\ntry\ntry\n');
    const bad = await f.berth(['run', '--rm', '--restart', 'sometimes', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    await f.ok(['rm', id]);
  });

  itRoot('--memory, --cpus and --pids-limit reach the container cgroup', async () => {
    const id = (await f.ok(['run', '-d', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '42', 'busybox', 'sleep', '60'])).trim();
    const fmt = await f.ok(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', id]);
    expect(fmt).toBe(`${64 << 20} 500000000 42\n`);
    const v1 = await f.ok([
      'exec',
      id,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max',
    ]);
    expect(v1.split('\n').filter(Boolean)).toEqual([String(64 << 20), '42']);
    await f.ok(['rm', '-f', id]);
  });

  itRoot('run -d, ps (table, -q, --format, json through jq), logs, exec, top, stats, pause, rename, restart, kill, wait, rm', async () => {
    const id = (await f.ok(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 0.1; done'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const table = await f.ok(['ps']);
    expect(table.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(table).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c echo started;…"\\s+.*Up .*web$`, 'm'));
    expect(await f.ok(['ps', '-q'])).toBe(`${id.slice(0, 12)}\n`);
    expect(await f.ok(['ps', '--format', '{{.ID}} {{.Names}} {{.State}}'])).toBe(`${id.slice(0, 12)} web running\n`);
    const jq = execFileSync('jq', ['-r', '.Names + " " + .State'], { input: await f.ok(['ps', '--format', 'json']) }).toString();
    expect(jq).toBe('web running\n');
    const inspected = JSON.parse(await f.ok(['inspect', 'web'])) as Array<{ Id: string; Name: string; State: { Running: boolean } }>;
    expect(inspected).toMatchObject([{ Id: id, Name: '/web', State: { Running: true } }]);
    expect(execFileSync('jq', ['-r', '.[0].Config.Cmd[0]'], { input: await f.ok(['container', 'inspect', 'web']) }).toString()).toBe('sh\n');
    expect(await f.ok(['logs', 'web'])).toBe('started\n');
    expect(await f.ok(['logs', '--timestamps', 'web'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n$/);
    expect(await f.ok(['exec', 'web', 'sh', '-c', 'echo in $(hostname)'])).toBe(`in ${id.slice(0, 12)}\n`);
    expect((await f.berth(['exec', 'web', 'sh', '-c', 'exit 5'])).code).toBe(5);
    expect(await f.ok(['exec', '-i', 'web', 'cat'], { input: 'piped\n' })).toBe('piped\n');
    expect(await f.ok(['top', 'web'])).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n(.*\n)*.*sh -c echo started/);
    expect(await f.ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'web'])).toMatch(/^web [1-9]\d*\n$/);
    const stats = JSON.parse(await f.ok(['stats', '--no-stream', '--format', 'json'])) as { ID: string; MemUsage: string };
    expect(stats).toMatchObject({ ID: id.slice(0, 12), MemUsage: expect.stringMatching(/iB \/ /) });
    await f.ok(['pause', 'web']);
    expect(await f.ok(['ps', '--format', '{{.State}}'])).toBe('paused\n');
    await f.ok(['unpause', 'web']);
    await f.ok(['rename', 'web', 'web2']);
    expect(await f.ok(['ps', '--format', '{{.Names}}'])).toBe('web2\n');
    await f.ok(['restart', '-t', '5', 'web2']);
    expect(await f.ok(['logs', 'web2'])).toBe('started\nstarted\n');
    await f.ok(['kill', '-s', 'TERM', 'web2']);
    expect(await f.ok(['wait', 'web2'])).toBe('0\n');
    expect(await f.ok(['ps', '-a', '--format', '{{.Status}}'])).toMatch(/^Exited \(0\) /);
    expect(await f.ok(['rm', 'web2'])).toBe('web2\n');
    expect(await ids()).toEqual([]);
  });

  itRoot('logs --tail and --since', async () => {
    const id = (await f.ok(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo $i; done'])).trim();
    await f.ok(['wait', id]);
    expect(await f.ok(['logs', '--tail', '2', id])).toBe('4\n5\n');
    expect(await f.ok(['logs', '-n', '0', id])).toBe('');
    expect(await f.ok(['logs', '--since', '1m', id])).toBe('1\n2\n3\n4\n5\n');
    expect(await f.ok(['logs', '--since', new Date(Date.now() + 60_000).toISOString(), id])).toBe('');
    await f.ok(['rm', id]);
  });

  itRoot('logs keeps stdout and stderr apart, in order within each, with --timestamps on every line', async () => {
    const script = 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf partial';
    const id = (await f.ok(['run', '-d', 'busybox', 'sh', '-c', script])).trim();
    await f.ok(['wait', id]);
    const r = await f.berth(['logs', id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('out1\nout2\nout3\npartial');
    expect(r.stderr).toBe('err1\nerr2\nerr3\n');
    const t = await f.berth(['logs', '-t', id]);
    const stamp = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z';
    expect(t.stdout).toMatch(new RegExp(`^${stamp} out1\\n${stamp} out2\\n${stamp} out3\\n${stamp} partial$`));
    expect(t.stderr).toMatch(new RegExp(`^${stamp} err1\\n${stamp} err2\\n${stamp} err3\\n$`));
    await f.ok(['rm', id]);
  });

  itRoot('create then start -a exits with the code; stop -t escalates to SIGKILL on a process that ignores SIGTERM', async () => {
    const id = (await f.ok(['create', '--name', 'later', 'busybox', 'sh', '-c', 'echo hi; exit 4'])).trim();
    expect(await f.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).toBe('later created\n');
    expect(await f.berth(['start', '-a', 'later'])).toMatchObject({ code: 4, stdout: 'hi\n' });
    await f.ok(['rm', id]);

    await f.ok(['run', '-d', '--name', 'stubborn', 'busybox', 'sh', '-c', "trap '' TERM; echo ready; while true; do sleep 0.1; done"]);
    const t0 = Date.now();
    await f.ok(['stop', '-t', '2', 'stubborn']);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(15_000);
    expect(await f.ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'stubborn'])).toBe('exited 137\n');
    await f.ok(['rm', 'stubborn']);
  });

  itRoot('commit, then run the committed image', async () => {
    await f.ok(['run', '--name', 'builder', 'busybox', 'sh', '-c', 'echo made-in-container > /made.txt']);
    const imageId = (await f.ok(['commit', '-m', 'a file', 'builder', 'committed:v1'])).trim();
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await f.ok(['run', '--rm', 'committed:v1', 'cat', '/made.txt'])).toBe('made-in-container\n');
    expect(await f.ok(['image', 'inspect', '--format', '{{.Id}} {{.Comment}}', 'committed:v1'])).toBe(`${imageId} a file\n`);
    expect(JSON.parse(await f.ok(['inspect', 'committed:v1']))[0].RepoTags).toEqual(['committed:v1']);
    await f.ok(['rm', 'builder']);
  });

  itRoot('bad input: one clear line, a non-zero exit, nothing created', async () => {
    const before = await ids();
    // Malformed seccomp profiles are refused before anything is created (issue 16).
    const notJson = join(f.work, 'not-json.json');
    await writeFile(notJson, '{"defaultAction": ');
    const badAction = join(f.work, 'bad-action.json');
    await writeFile(badAction, JSON.stringify({ defaultAction: 'SCMP_ACT_BOGUS', syscalls: [] }));
    const cases: Array<[string[], number, RegExp]> = [
      [['run', '--rm', '--security-opt', `seccomp=${notJson}`, 'busybox', 'true'], 125, /seccomp/i],
      [['run', '--rm', '--security-opt', `seccomp=${badAction}`, 'busybox', 'true'], 125, /SCMP_ACT_BOGUS/],
      [['run', '--bogus', 'busybox'], 125, /unknown flag: --bogus/],
      [['ps', '-Z'], 125, /unknown shorthand flag: 'Z'/],
      [['run', '--rm', '--memory', '12x', 'busybox', 'true'], 125, /memory/i],
      [['run', '--rm', 'no-such-image:1', 'true'], 125, /no-such-image/],
      [['create', '--pids-limit', 'many', 'busybox'], 125, /not an integer/],
      [['frobnicate'], 1, /is not a berth command/],
      [['stop', 'nope'], 1, /No such container: nope/],
    ];
    for (const [args, code, re] of cases) {
      const r = await f.berth(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(r.stderr.includes('Unable to find image') ? 2 : 1);
      expect(r.stdout).toBe('');
    }
    expect(await ids()).toEqual(before);
    await f.ok(['create', '--name', 'taken', 'busybox', 'true']);
    const dup = await f.berth(['run', '--name', 'taken', 'busybox', 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/"\/taken" is already in use/);
    const notRunning = await f.berth(['exec', 'taken', 'true']);
    expect(notRunning.code).not.toBe(0);
    expect(notRunning.stderr.trim()).toMatch(/is not running/);
    expect(notRunning.stderr.trim().split('\n')).toHaveLength(1);
    expect((await f.berth(['pause', 'taken'])).stderr).toMatch(/is not running/);
    expect(await ids()).toHaveLength(before.length + 1);
    await f.ok(['rm', 'taken']);
  });
});
