/** Stdio: FIFOs by path (stdin EOF reaches the process, write ends closed at exit) and the tty. */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcess } from '../../src/tasks/helper';
import { itRoot, Running, until, useHarness } from './harness';

const h = useHarness();

function readAll(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    createReadStream(path, { encoding: 'utf8' })
      .on('data', (d) => (out += d))
      .on('end', () => resolve(out))
      .on('error', reject);
  });
}

describe('berth-helper stdio', () => {
  itRoot('stdin EOF from a FIFO reaches the process; stdout FIFO ends when it exits', async () => {
    const id = h.nextId('fifo');
    const stdin = join(h.stateRoot, `${id}-stdin`);
    const stdout = join(h.stateRoot, `${id}-stdout`);
    execFileSync('mkfifo', [stdin, stdout]);
    const output = readAll(stdout); // ctr opens its read ends first
    const plan = h.plan(id, h.spec(id, ['cat']), { stdio: { stdin: { kind: 'fifo', path: stdin }, stdout: { kind: 'fifo', path: stdout }, stderr: { kind: 'null' } } });
    const created = await createProcess(plan);
    await created.start();
    const w = await open(stdin, 'w');
    await w.write('hello through a fifo\n');
    await w.close(); // EOF: cat must see it and exit
    expect(await output).toBe('hello through a fifo\n');
    expect((await created.monitor.wait()).exitStatus).toBe(0);
    await new Running(id, plan, created, stdout).remove();
    await rm(stdin);
  });

  itRoot('close-stdin delivers EOF while the writer stays open', async () => {
    const id = h.nextId('closestdin');
    const stdin = join(h.stateRoot, `${id}-stdin`);
    execFileSync('mkfifo', [stdin]);
    const out = join(h.stateRoot, `${id}.out`);
    const plan = h.plan(id, h.spec(id, ['sh', '-c', 'cat; echo eof-seen']), { stdio: { stdin: { kind: 'fifo', path: stdin }, stdout: { kind: 'file', path: out } } });
    const created = await createProcess(plan);
    await created.start();
    const w = await open(stdin, 'w');
    await w.write('abc\n');
    const r = new Running(id, plan, created, out);
    await until('input copied', async () => (await r.output()).includes('abc'));
    await created.monitor.closeStdin();
    expect((await created.monitor.wait()).exitStatus).toBe(0);
    expect(await r.output()).toBe('abc\neof-seen\n');
    await w.close();
    await r.remove();
    await rm(stdin);
  });

  itRoot('a tty process sees a terminal and follows resizes', async () => {
    const script = 'tty; stty size; while [ "$(stty size)" = "24 80" ]; do sleep 0.02; done; stty size';
    const r = await h.run('tty', ['sh', '-c', script], {
      tweak: (s) => (s.process!.terminal = true),
      extra: { consoleSize: { width: 80, height: 24 } },
    });
    await until('first size', async () => (await r.output()).includes('24 80'));
    await r.monitor.resize(100, 40);
    const { status, out } = await r.finish();
    expect(status).toBe(0);
    expect(out.split('\r\n')).toEqual(['/dev/pts/0', '24 80', '40 100', '']);
  });
});
