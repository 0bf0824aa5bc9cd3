/**
 * `cp`'s local extraction (src/cli/local-archive.ts): a tar from berthd is extracted below the
 * destination only; an entry that climbs out (`..`, an absolute name) or walks through a symlink
 * the archive (or the destination) holds is refused before anything is written outside; the top
 * name is renamed as Docker's CopyTo does. And a local tree packs with its top renamed.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { extractLocal, packLocal } from '../../src/cli/local-archive';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-local-archive-'));
  await mkdir(join(dir, 'dest'));
  await mkdir(join(dir, 'outside'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

type E = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string; linkname?: string };
async function* tarOf(entries: E[]): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  for (const e of entries)
    pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644 }, e.body ?? '');
  pack.finalize();
  for await (const b of pack as AsyncIterable<Buffer>) yield b;
}

const none = { from: '', to: '' };

describe('cp: extracting a tar locally', () => {
  it('renames the top entry and writes files, dirs, links', async () => {
    const n = await extractLocal(
      tarOf([
        { name: 'etc', type: 'directory' },
        { name: 'etc/a', body: 'a\n' },
        { name: 'etc/l', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'etc/h', type: 'link', linkname: 'etc/a' },
      ]),
      join(dir, 'dest'),
      { from: 'etc', to: 'copy' },
    );
    expect(n).toBe(2);
    expect(readFileSync(join(dir, 'dest', 'copy', 'a'), 'utf8')).toBe('a\n');
    expect(readlinkSync(join(dir, 'dest', 'copy', 'l'))).toBe('/etc/passwd');
    expect(lstatSync(join(dir, 'dest', 'copy', 'h')).ino).toBe(lstatSync(join(dir, 'dest', 'copy', 'a')).ino);
  });

  it("a directory's contents (`dir/.`) go into a new directory", async () => {
    await extractLocal(
      tarOf([
        { name: '.', type: 'directory' },
        { name: './x', body: 'x' },
      ]),
      join(dir, 'dest'),
      { from: '', to: 'new' },
    );
    expect(readFileSync(join(dir, 'dest', 'new', 'x'), 'utf8')).toBe('x');
  });

  it.each([
    ['a parent name', [{ name: '../escaped', body: 'no' }]],
    ['an absolute name', [{ name: '/escaped', body: 'no' }]],
    ['a name through a link the archive made', [{ name: 'l', type: 'symlink', linkname: '../outside' } as E, { name: 'l/escaped', body: 'no' }]],
    ['a hard link to a file outside', [{ name: 'h', type: 'link', linkname: '../outside/escaped' } as E]],
  ])('refuses %s and writes nothing outside', async (_what, entries) => {
    await expect(extractLocal(tarOf(entries as E[]), join(dir, 'dest'), none)).rejects.toThrow();
    expect(existsSync(join(dir, 'outside', 'escaped'))).toBe(false);
    expect(existsSync(join(dir, 'escaped'))).toBe(false);
  });

  it('does not write through a symlink already at the destination; it replaces the link', async () => {
    await writeFile(join(dir, 'outside', 'target'), 'host file\n');
    await symlink(join(dir, 'outside', 'target'), join(dir, 'dest', 'f'));
    await extractLocal(tarOf([{ name: 'f', body: 'from the container\n' }]), join(dir, 'dest'), none);
    expect(readFileSync(join(dir, 'outside', 'target'), 'utf8')).toBe('host file\n');
    expect(lstatSync(join(dir, 'dest', 'f')).isFile()).toBe(true);
  });

  it('refuses to replace a directory by a file', async () => {
    await mkdir(join(dir, 'dest', 'd'));
    await expect(extractLocal(tarOf([{ name: 'd', body: 'x' }]), join(dir, 'dest'), none)).rejects.toThrow(/cannot overwrite directory/);
  });
});

describe('cp: packing a local tree', () => {
  it('names entries from the new top, with the given owner', async () => {
    await mkdir(join(dir, 'src', 'sub'), { recursive: true });
    await writeFile(join(dir, 'src', 'sub', 'f'), 'f');
    await symlink('sub/f', join(dir, 'src', 'l'));
    const ex = tar.extract();
    const seen: string[] = [];
    const feeding = (async () => {
      for await (const b of packLocal(join(dir, 'src'), 'top', { uid: 0, gid: 0 })) ex.write(b);
      ex.end(() => undefined);
    })();
    for await (const e of ex) {
      seen.push(`${e.header.type} ${e.header.name} ${e.header.uid}`);
      e.resume();
    }
    await feeding;
    expect(seen).toEqual(['directory top 0', 'symlink top/l 0', 'directory top/sub 0', 'file top/sub/f 0']);
  });
});
