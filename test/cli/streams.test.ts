/**
 * The built `berth` binary's streams against a berthd child process: `run -it` under a real
 * pseudo-terminal (the window size and a resize reach the container's shell, its exit code comes
 * back), `logs -f` of a detached container across a berthd SIGKILL and restart (every line once,
 * in order), attach with detach keys, and events replayed with --since/--until.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BERTH_BIN, CliFixture, run } from '../helpers/cli';
import { until } from '../helpers/until';
import { itRoot } from '../engine/it-root';

const f = CliFixture.use('clistream');

describe('berth CLI: terminals and streams', () => {
  itRoot(
    'run -it under a pseudo-terminal: the size and a resize reach the shell, its exit code comes back',
    async () => {
      const r = await run(
        'python3',
        [join(__dirname, '../helpers/pty-drive.py'), process.execPath, BERTH_BIN, 'run', '-it', '--rm', '--name', 'tty', 'busybox', 'sh'],
        { env: f.env },
        undefined,
        90_000,
      );
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { exit?: number; output: string; error?: string };
      expect(got.error).toBeUndefined();
      expect(got.output).toContain('24 80');
      expect(got.output).toContain('40 100');
      expect(got.exit).toBe(3);
      expect(await f.ok(['ps', '-a', '-q'])).toBe('');
    },
    120_000,
  );

  itRoot(
    'exec -it under a pseudo-terminal: size, resize and exit code of the exec',
    async () => {
      await f.ok(['run', '-d', '--name', 'host', 'busybox', 'sleep', '600']);
      const r = await run(
        'python3',
        [join(__dirname, '../helpers/pty-drive.py'), process.execPath, BERTH_BIN, 'exec', '-it', 'host', 'sh'],
        { env: f.env },
        undefined,
        90_000,
      );
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { exit?: number; output: string; error?: string };
      expect(got.error).toBeUndefined();
      expect(got.output).toContain('24 80');
      expect(got.output).toContain('40 100');
      expect(got.exit).toBe(3);
      await f.ok(['rm', '-f', 'host']);
    },
    120_000,
  );

  itRoot(
    'stats without --no-stream keeps printing samples until interrupted',
    async () => {
      await f.ok(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '600']);
      const child = spawn(process.execPath, [BERTH_BIN, 'stats', '--format', '{{.Name}} {{.PIDs}}', 'busy'], { env: f.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise((r) => child.once('close', r));
      await until('three samples', () => out.split('\n').filter((l) => l === 'busy 1').length >= 3, 30_000);
      child.kill('SIGINT');
      await exited;
      await f.ok(['rm', '-f', 'busy']);
    },
    60_000,
  );

  itRoot('run -it without a terminal says so and creates nothing', async () => {
    const r = await f.berth(['run', '-it', 'busybox', 'sh']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: the input device is not a TTY\n');
    expect(await f.ok(['ps', '-a', '-q'])).toBe('');
  });

  itRoot(
    'logs -f of a detached container goes on across a berthd SIGKILL and restart, losing and repeating nothing',
    async () => {
      const id = (await f.ok(['run', '-d', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 80 ]; do echo line $i; i=$((i+1)); sleep 0.1; done'])).trim();
      const child = spawn(process.execPath, [BERTH_BIN, 'logs', '-f', id], { env: f.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const exited = new Promise<number | null>((r) => child.once('close', r));
      await until('some lines', () => out.includes('line 10'));
      await f.daemon.kill();
      await new Promise((r) => setTimeout(r, 1500));
      await f.daemon.start();
      expect(await exited).toBe(0);
      expect(err).toBe('');
      expect(out).toBe(Array.from({ length: 80 }, (_, i) => `line ${i}\n`).join(''));
      await f.ok(['rm', id]);
    },
    120_000,
  );

  itRoot('attach: stdin in, output out, the detach keys leave the container running', async () => {
    await f.ok(['run', '-d', '-i', '--name', 'cat', 'busybox', 'cat']);
    const child = spawn(process.execPath, [BERTH_BIN, 'attach', '--detach-keys', 'ctrl-x,x', 'cat'], { env: f.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', r));
    // Until the session is up, what is typed may go before it attached: type until cat echoes.
    await until('cat to echo', async () => {
      child.stdin.write('hello\n');
      await new Promise((r) => setTimeout(r, 200));
      return out.includes('hello\n');
    });
    child.stdin.write(Buffer.from([0x18, 0x78]));
    expect(await exited).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^(hello\n)+$/);
    expect(await f.ok(['inspect', '--format', '{{.State.Status}}', 'cat'])).toBe('running\n');
    await f.ok(['rm', '-f', 'cat']);
  });

  itRoot('events: replayed with --since and ended by --until, as lines and as JSON for jq', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    await f.ok(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
    const untilArg = new Date(Date.now() + 500).toISOString();
    const lines = await f.ok(['events', '--since', since, '--until', untilArg, '--filter', 'container=evt']);
    const actions = lines
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[2]);
    expect(actions).toEqual(expect.arrayContaining(['create', 'start', 'die', 'destroy']));
    expect(actions.indexOf('create')).toBeLessThan(actions.indexOf('destroy'));
    const json = await f.ok(['events', '--since', since, '--until', untilArg, '--filter', 'container=evt', '--format', 'json']);
    const jq = await run('jq', ['-r', 'select(.Action == "start") | .Actor.Attributes.name'], {}, json);
    expect(jq.stdout).toBe('evt\n');
  });
});
