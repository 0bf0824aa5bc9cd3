/**
 * Embedding: a Node program of its own that requires the package (its `main`, the client
 * library) and nothing else of berth's, runs a container on a berthd child process, reads its
 * output and logs, waits for its exit and removes it, and ends a follow with an AbortSignal;
 * grpc-js and the .proto parsers are never loaded, by it or by the `berth` CLI.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN, CliFixture, run } from '../helpers/cli';
import { REPO } from '../helpers/daemon';
import { itRoot } from '../engine/it-root';

const f = CliFixture.use('cliembed');

// grpc-js, and the .proto parsers (protobufjs, proto-loader); @bufbuild/protobuf is only the wire codec.
const HEAVY = /node_modules\/(@grpc|protobufjs)/;

const PROGRAM = `
const { Client } = require(${JSON.stringify(REPO)});
(async () => {
  const client = new Client();
  const { id } = await client.engine.create({ image: 'busybox', cmd: ['sh', '-c', 'read x; echo got $x; echo to-err >&2; exit 6'], open_stdin: true, stdin_once: true });
  const session = await client.engine.attachSession({ container: id, stdin: true, stdout: true, stderr: true });
  await client.engine.start({ container: id });
  await session.write(Buffer.from('word\\n'));
  await session.closeStdin();
  const seen = [];
  for await (const e of session) seen.push(e.kind === 'exit' ? 'exit ' + e.exitCode : e.kind + ' ' + (e.data ? e.data.toString().trim() : ''));
  const { exit_code } = await client.engine.wait({ container: id });
  const logs = [];
  for await (const batch of client.engine.logs({ container: id, stdout: true, stderr: true })) for (const e of batch.entries) logs.push(e.stream + ' ' + e.data.toString().trim());
  // A follow of a container that never stops, ended by the caller.
  const { id: idle } = await client.engine.create({ image: 'busybox', cmd: ['sleep', '600'] });
  await client.engine.start({ container: idle });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  let aborted = '';
  try { for await (const _ of client.engine.logs({ container: idle, follow: true }, { signal: ac.signal })) {} } catch (e) { aborted = e.kind; }
  await client.engine.remove({ container: idle, force: true });
  let missing = '';
  try { await client.engine.inspect({ container: 'nope' }); } catch (e) { missing = e.kind + ': ' + e.message; }
  await client.engine.remove({ container: id });
  client.close();
  const heavy = Object.keys(require.cache).filter((p) => ${HEAVY}.test(p));
  console.log(JSON.stringify({ seen, exit_code, logs: logs.sort(), aborted, missing, heavy }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('embedding berth through its client library', () => {
  itRoot('a program that requires the package runs a container, reads its streams and logs, and cancels a follow', async () => {
    const script = join(f.work, 'embed.js');
    await writeFile(script, PROGRAM);
    const r = await run(process.execPath, [script], { env: f.env });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      seen: expect.arrayContaining(['stdout got word', 'stderr to-err', 'exit 6']),
      exit_code: 6,
      logs: ['stderr to-err', 'stdout got word'],
      aborted: 'Canceled',
      missing: 'NotFound: No such container: nope',
      heavy: [],
    });
  });

  it('the berth CLI loads neither grpc-js nor a .proto parser', async () => {
    const hook = join(f.work, 'modules.js');
    await writeFile(hook, `process.on('exit', () => require('fs').writeSync(2, JSON.stringify(Object.keys(require.cache)) + '\\n'));`);
    const r = await run(process.execPath, ['-r', hook, BERTH_BIN, 'ps', '-a'], { env: f.env });
    expect(r.code).toBe(0);
    const loaded = JSON.parse(r.stderr.trim().split('\n').pop()!) as string[];
    expect(loaded).toContain(BERTH_BIN);
    expect(loaded.filter((p) => HEAVY.test(p))).toEqual([]);
  });
});
