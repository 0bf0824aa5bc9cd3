/**
 * Issue 18's file commands through the built `berth` binary: `cp` out of and into a container
 * whose root holds symlinks at host paths (`/etc/passwd`, `../../..`), made by its image and by
 * the container itself, touches only the container (the host's files are hashed before and
 * after); `-` streams tars both ways; `diff`, `export` then `import`, and `history`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { itRoot } from '../engine/it-root';
import { layerTarStream } from '../helpers/oci-layer';
import { slow } from '../helpers/slow';
import { until } from '../helpers/until';
import { BERTH_BIN, CliParityFixture } from './parity-fixture';

const f = new CliParityFixture('cli-files');
const IMG = 'parity-files:1';
const MARK = `berth-parity-${process.pid}`;
const hash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const hostPasswd = hash('/etc/passwd');

async function tarOf(entries: Parameters<typeof layerTarStream>[0]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of layerTarStream(entries)) out.push(b as Buffer);
  return Buffer.concat(out);
}

beforeAll(async () => {
  await f.setup();
  await f.importImage(IMG, [
    { path: 'etc/marker', type: 'file', content: 'inside the container\n' },
    { path: 'evil', type: 'symlink', linkname: '/etc/passwd' },
    { path: 'up', type: 'symlink', linkname: '../../../../../../../..' },
    { path: 'updir', type: 'symlink', linkname: '../../../../../../../../etc' },
  ]);
  await f.ok(['run', '-d', '--name', 'box', IMG, 'sh', '-c', 'ln -s ../../../../../../.. /rt; rm /etc/group; echo new > /new; sleep 1000']);
  await until('the container made its links', async () => (await f.berth(['exec', 'box', 'test', '-L', '/rt'])).code === 0);
}, slow(120_000));
afterAll(async () => {
  await f.teardown();
  // Nothing the tests wrote reached the host's /etc.
  expect(hash('/etc/passwd')).toBe(hostPasswd);
  expect(existsSync(`/etc/${MARK}`)).toBe(false);
}, slow(60_000));

describe('berth cp out of a container', () => {
  itRoot('paths through symlinks to host paths resolve inside the container', async () => {
    const inContainer = await f.ok(['exec', 'box', 'cat', '/etc/passwd']);
    expect(inContainer).not.toBe(readFileSync('/etc/passwd', 'utf8'));
    for (const [src, name] of [
      ['box:/up/etc/passwd', 'p-up'],
      ['box:/rt/etc/passwd', 'p-rt'],
      ['box:/updir/passwd', 'p-updir'],
    ] as const) {
      const r = await f.berth(['cp', src, join(f.work, name)]);
      expect(r).toMatchObject({ code: 0, stderr: expect.stringMatching(/^Successfully copied \S+ to /) });
      expect(readFileSync(join(f.work, name), 'utf8')).toBe(inContainer);
    }
    // -L follows the link inside the container; without it the link itself is copied.
    await f.ok(['cp', '-L', 'box:/evil', join(f.work, 'p-follow')]);
    expect(readFileSync(join(f.work, 'p-follow'), 'utf8')).toBe(inContainer);
    await f.ok(['cp', 'box:/evil', join(f.work, 'p-link')]);
    expect(lstatSync(join(f.work, 'p-link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(f.work, 'p-link'))).toBe('/etc/passwd');
  });

  itRoot('a directory into an existing directory and as a new name; `-` writes the tar to stdout', async () => {
    await f.ok(['cp', 'box:/up/etc', join(f.work, 'etc-copy')]);
    expect(readFileSync(join(f.work, 'etc-copy', 'marker'), 'utf8')).toBe('inside the container\n');
    execFileSync('mkdir', ['-p', join(f.work, 'into')]);
    await f.ok(['cp', 'box:/etc', join(f.work, 'into')]);
    expect(readFileSync(join(f.work, 'into', 'etc', 'marker'), 'utf8')).toBe('inside the container\n');
    const tar = await f.berth(['cp', 'box:/etc/marker', '-']);
    expect(tar.code).toBe(0);
    writeFileSync(join(f.work, 'marker.tar'), tar.raw);
    expect(execFileSync('tar', ['-tvf', join(f.work, 'marker.tar')], { encoding: 'utf8' })).toMatch(/ marker\n$/);
    expect(execFileSync('tar', ['-xOf', join(f.work, 'marker.tar'), 'marker'], { encoding: 'utf8' })).toBe('inside the container\n');
  });
});

describe('berth cp into a container', () => {
  itRoot("writes through the container's own links stay in the container", async () => {
    writeFileSync(join(f.work, MARK), 'payload\n');
    await f.ok(['cp', join(f.work, MARK), 'box:/updir/']);
    expect(await f.ok(['exec', 'box', 'cat', `/etc/${MARK}`])).toBe('payload\n');
    await f.ok(['cp', join(f.work, MARK), `box:/rt/tmp/${MARK}`]);
    expect(await f.ok(['exec', 'box', 'cat', `/tmp/${MARK}`])).toBe('payload\n');
    // A tar on stdin whose entry walks through the `up` link lands below the container's root.
    const tar = await tarOf({ entries: [{ path: `up/etc/${MARK}-tar`, type: 'file', content: 'from a tar\n' }] });
    const r = await f.berth(['cp', '-', 'box:/'], { input: tar });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(await f.ok(['exec', 'box', 'cat', `/etc/${MARK}-tar`])).toBe('from a tar\n');
    expect(existsSync(`/etc/${MARK}-tar`)).toBe(false);
    // Onto the link to /etc/passwd: the container's passwd is replaced, the host's is not touched.
    await f.ok(['cp', join(f.work, MARK), 'box:/evil']);
    expect(await f.ok(['exec', 'box', 'cat', '/etc/passwd'])).toBe('payload\n');
    expect(hash('/etc/passwd')).toBe(hostPasswd);
    expect(existsSync(`/etc/${MARK}`)).toBe(false);
  });

  itRoot("-a gives the files the container user's owner; a directory onto a file is refused", async () => {
    execFileSync('mkdir', ['-p', join(f.work, 'tree', 'sub')]);
    writeFileSync(join(f.work, 'tree', 'sub', 'f'), 'f\n');
    await f.ok(['cp', join(f.work, 'tree'), 'box:/copied']);
    expect(await f.ok(['exec', 'box', 'sh', '-c', 'cat /copied/sub/f; stat -c %u:%g /copied/sub/f'])).toBe('f\n0:0\n');
    // -a: owned by the container's user (here a created container that never ran, uid/gid 1).
    await f.ok(['create', '--name', 'owned', '-u', '1:1', IMG, 'true']);
    await f.ok(['cp', '-a', join(f.work, 'tree'), 'owned:/tmp/t']);
    await f.ok(['cp', join(f.work, 'tree'), 'owned:/tmp/plain']);
    const listing = (path: string) =>
      execFileSync('tar', ['-tvf', '-', '--numeric-owner'], {
        input: execFileSync(process.execPath, [BERTH_BIN, '--address', f.dirs.address, 'cp', `owned:${path}`, '-'], {
          env: { ...process.env, BERTH_NAMESPACE: f.ns },
        }),
        encoding: 'utf8',
      });
    expect(listing('/tmp/t/sub/f')).toMatch(/^-\S+ 1\/1 /);
    expect(listing('/tmp/plain/sub/f')).toMatch(/^-\S+ 0\/0 /);
    await f.ok(['rm', 'owned']);
    const bad = await f.berth(['cp', join(f.work, 'tree'), 'box:/new']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot copy directory/);
    const both = await f.berth(['cp', 'box:/new', 'box:/x']);
    expect(both).toMatchObject({ code: 1, stderr: expect.stringContaining('copying between containers is not supported') });
  });
});

describe('berth diff, export, import, history', () => {
  itRoot('diff lists what the container changed; export then import makes an image of its filesystem', async () => {
    const diff = (await f.ok(['diff', 'box'])).split('\n');
    expect(diff).toEqual(expect.arrayContaining(['A /rt', 'A /new', 'C /etc', 'D /etc/group']));
    await f.ok(['export', '-o', join(f.work, 'box.tar'), 'box']);
    const names = execFileSync('tar', ['-tf', join(f.work, 'box.tar')], { encoding: 'utf8' }).split('\n');
    expect(names).toEqual(expect.arrayContaining(['new', 'rt', 'etc/marker', 'bin/busybox']));
    expect(names).not.toContain('etc/group');
    const id = (await f.ok(['import', '--change', 'CMD ["cat", "/new"]', '-m', 'exported box', join(f.work, 'box.tar'), 'from-export:1'])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await f.ok(['run', '--rm', 'from-export:1'])).toBe('new\n');
    // The same tar through stdin, with no name: a dangling image known by its id.
    const viaStdin = (await f.ok(['import', '-'], { input: readFileSync(join(f.work, 'box.tar')) })).trim();
    expect(viaStdin).toMatch(/^sha256:[0-9a-f]{64}$/);
    const hist = (await f.ok(['history', 'from-export:1'])).split('\n');
    expect(hist[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(hist.filter(Boolean)).toHaveLength(2);
    expect(hist[1]).toMatch(new RegExp(`^${id.slice(7, 19)}\\s+.*exported box$`));
    expect(await f.ok(['history', '--no-trunc', '-q', 'from-export:1'])).toBe(`${id}\n`);
    const exportTty = await f.berth(['export', 'box']);
    expect(exportTty.code).toBe(0); // stdout is a pipe here: the tar goes to it
    expect(exportTty.raw.length).toBeGreaterThan(512);
  });
});
