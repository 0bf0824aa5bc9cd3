/**
 * The built `berth` binary: version/info/system df (tables and JSON for jq), the low-level
 * groups (content, snapshots, namespaces, leases), --address/BERTH_ADDRESS and -n/BERTH_NAMESPACE,
 * `--help` for every command, and bash completion.
 */
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/bin';
import { CliFixture, run } from '../helpers/cli';
import { itRoot } from '../engine/it-root';

const f = CliFixture.use('clisys');

const jq = async (filter: string, input: string) => (await run('jq', ['-r', filter], {}, input)).stdout;

describe('berth CLI: system and low-level commands', () => {
  itRoot('version, info and system df, as tables and as JSON', async () => {
    const v = await f.ok(['version']);
    expect(v).toMatch(/^Client:\n Version: +\d+\.\d+\.\d+\n(.*\n)*Server: berthd\n Version: +\S+/);
    expect(await jq('.Server.Address', await f.ok(['version', '--format', 'json']))).toBe(`${f.dirs.address}\n`);
    await f.ok(['run', '-d', '--name', 'idle', 'busybox', 'sleep', '60']);
    expect(await jq('[.Containers, .ContainersRunning, .Images] | @tsv', await f.ok(['info', '--format', 'json']))).toBe('1\t1\t1\n');
    expect(await f.ok(['info'])).toMatch(/ Containers: 1\n {2}Running: 1\n {2}Paused: 0\n {2}Stopped: 0\n Images: 1\n/);
    const df = await f.ok(['system', 'df']);
    expect(df).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+1\s+\S+\s+0B \(0%\)\nContainers\s+1\s+1\s+/);
    expect(await jq('select(.Type == "Images") | .TotalCount', await f.ok(['system', 'df', '--format', 'json']))).toBe('1\n');
    await f.ok(['rm', '-f', 'idle']);
  });

  itRoot('content ls/get/ingest/rm, snapshots ls/info/usage, namespaces, leases', async () => {
    const digests = (await f.ok(['content', 'ls', '-q'])).split('\n').filter(Boolean);
    expect(digests).toEqual(expect.arrayContaining([f.image.manifest.digest, f.image.config.digest]));
    const config = await run(process.execPath, [join(__dirname, '../../dist/cli/bin.js'), 'content', 'get', f.image.config.digest], { env: f.env });
    expect(`sha256:${createHash('sha256').update(config.stdout).digest('hex')}`).toBe(f.image.config.digest);
    const data = Buffer.alloc(3 << 20, 7);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    expect(await f.ok(['content', 'ingest', '--label', 'test=yes', 'my-ref'], { input: data })).toBe(`${digest}\n`);
    expect(await jq(`select(.Digest == "${digest}") | .Bytes`, await f.ok(['content', 'ls', '--format', 'json']))).toBe(`${3 << 20}\n`);
    const bad = await f.berth(['content', 'ingest', '--expected-digest', `sha256:${'0'.repeat(64)}`, 'bad-ref'], { input: 'x' });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(await f.ok(['content', 'rm', digest])).toBe(`${digest}\n`);
    expect(await f.ok(['content', 'ls', '-q'])).not.toContain(digest);

    await f.ok(['run', '--name', 'snap', 'busybox', 'true']);
    const key = (await f.ok(['inspect', '--format', '{{.Id}}', 'snap'])).trim();
    const snaps = await f.ok(['snapshots', 'ls']);
    expect(snaps.split('\n')[0]).toMatch(/^KEY\s+PARENT\s+KIND$/);
    expect(snaps).toMatch(/\sCommitted$/m);
    const snapKey = (await f.client.engine.inspect({ container: key })).snapshot_key;
    expect(JSON.parse(await f.ok(['snapshots', 'info', snapKey]))).toMatchObject({ Kind: 'Active', Name: snapKey });
    expect(await f.ok(['snapshots', 'usage', snapKey])).toMatch(new RegExp(`^KEY\\s+SIZE\\s+INODES\\n${snapKey}\\s+\\S+\\s+\\d+\\n$`));
    await f.ok(['rm', 'snap']);

    expect((await f.ok(['namespaces', 'ls', '-q'])).split('\n')).toContain(f.ns);
    const other = `${f.ns}-x`;
    await f.ok(['namespaces', 'create', other, 'team=a']);
    expect(await f.ok(['namespaces', 'ls'])).toMatch(new RegExp(`^${other}\\s+team=a$`, 'm'));
    expect(await f.ok(['-n', other, 'ps', '-a', '-q'])).toBe('');
    expect(await f.ok(['namespaces', 'rm', other])).toBe(`${other}\n`);

    const lease = (await f.ok(['leases', 'create', '--expires', '1h', 'purpose=test'])).trim();
    expect(await f.ok(['leases', 'ls'])).toMatch(new RegExp(`^${lease}\\s+.*containerd.io/gc.expire=.*purpose=test$`, 'm'));
    expect(await f.ok(['leases', 'rm', lease])).toBe(`${lease}\n`);
    expect(await f.ok(['leases', 'ls', '-q'])).not.toContain(lease);
  });

  itRoot('--address and BERTH_ADDRESS, -n and BERTH_NAMESPACE', async () => {
    await f.ok(['create', '--name', 'here', 'busybox']);
    const env = { ...process.env, BERTH_ADDRESS: join(f.work, 'nowhere.sock'), BERTH_NAMESPACE: f.ns };
    const down = await f.berth(['ps'], { env });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/nowhere\.sock/);
    expect(await f.berth(['--address', f.dirs.address, 'ps', '-a', '--format', '{{.Names}}'], { env })).toMatchObject({ code: 0, stdout: 'here\n' });
    expect(await f.berth(['--address', f.dirs.address, '-n', 'elsewhere', 'ps', '-a', '-q'], { env })).toMatchObject({ code: 0, stdout: '' });
    await f.ok(['rm', 'here']);
  });

  it('--help for every command', async () => {
    const env = { ...process.env, BERTH_ADDRESS: '/nonexistent.sock' };
    for (const e of COMMANDS) {
      for (const name of e.names) {
        const r = await f.berth([...name.split(' '), '--help'], { env });
        expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
        expect(r.stdout).toContain(`Usage:  berth ${name} `);
        expect(r.stdout).toContain(e.summary);
      }
    }
    const root = await f.berth(['--help'], { env });
    for (const e of COMMANDS) expect(root.stdout).toContain(e.names[0]);
  }, 120_000);

  it('completion bash: a script bash reads that completes commands, subcommands and flags', async () => {
    const script = join(f.work, 'berth.bash');
    await writeFile(script, await f.ok(['completion', 'bash']));
    const complete = async (...words: string[]) => {
      const body = `source ${script}; COMP_WORDS=(berth ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _berth; echo "\${COMPREPLY[*]}"`;
      return (await run('bash', ['-c', body], {})).stdout.trim().split(' ');
    };
    expect(await complete('ru')).toEqual(['run']);
    expect(await complete('snapshots', 'u')).toEqual(['usage']);
    expect(await complete('ps', '--a')).toEqual(['--all']);
    expect(await complete('run', '--pids')).toEqual(['--pids-limit']);
    expect((await f.berth(['completion', 'fish'])).code).toBe(1);
  });
});
