import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readlink, stat, symlink, utimes, writeFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { applyTar, buildTar, cleanup, itRoot, rootPath, snapshot, tc, tempDir, type TarEntry } from './util';
import type { UnpackTarget } from '../../src/diff';

/**
 * containerd's pkg/archive TestBreakouts table (34 cases), ported, plus berth's own cases
 * (CVE-2025-47290 symlink swaps, whiteouts and opaque markers through symlinked parents,
 * host-absolute targets). Every case runs in plain mode (with containerd's validator) and in
 * overlay mode; in both, a sentinel tree OUTSIDE the root (content, mode, mtime, owner, links)
 * and host files must be untouched, and nothing new may appear outside the root.
 */
const expected = 'unbroken';

interface Ctx {
  dir: string;
  outside: string;
  root: string;
}
interface Case {
  name: string;
  pre?: (root: string, c: Ctx) => Promise<void>;
  entries: (c: Ctx) => TarEntry[];
  /** ok: containerd applies it; invalid: containerd refuses it; either: berth's own case. */
  outcome: 'ok' | 'invalid' | 'either';
  validate?: (root: string, c: Ctx) => Promise<void>;
}

const unbrokenCheck = async (root: string) => expect(await readFile(join(root, 'etc', 'unbroken'), 'utf8')).toBe(expected);
const ino = async (root: string, p: string) => (await stat(await rootPath(root, p))).ino;
const sameFile = (a: string, b: string) => async (root: string) => expect(await ino(root, a)).toBe(await ino(root, b));
const notSameFile = (a: string, b: string) => async (root: string) => expect(await ino(root, a)).not.toBe(await ino(root, b));
const sameSymlink = (a: string, b: string) => async (root: string) => {
  expect((await lstat(join(root, a))).isSymbolicLink()).toBe(true);
  expect(await readlink(join(root, a))).toBe(await readlink(join(root, b)));
};
const fileValue = (p: string, v: string) => async (root: string) => expect(await readFile(join(root, p), 'utf8')).toBe(v);
const fileNotExists = (p: string) => async (root: string) =>
  expect(
    existsSync(join(root, p)) ||
      (await lstat(join(root, p)).then(
        () => true,
        () => false,
      )),
  ).toBe(false);
const all =
  (...fs: Array<(root: string, c: Ctx) => Promise<void>>) =>
  async (root: string, c: Ctx) => {
    for (const f of fs) await f(root, c);
  };
const etcPasswd =
  (content = 'inside') =>
  async (root: string) => {
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/passwd'), content);
  };

const TNAME = `berth-breakout-${process.pid}`;

const CASES: Case[] = [
  {
    name: 'SymlinkAbsolute',
    outcome: 'ok',
    entries: () => [tc.dir('etc'), tc.symlink('/etc', 'localetc'), tc.file('/localetc/unbroken', expected)],
    validate: unbrokenCheck,
  },
  {
    name: 'SymlinkUpAndOut',
    outcome: 'ok',
    entries: () => [tc.dir('etc'), tc.dir('dummy'), tc.symlink('/dummy/../etc', 'localetc'), tc.file('/localetc/unbroken', expected)],
    validate: unbrokenCheck,
  },
  {
    name: 'SymlinkMultipleAbsolute',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc'),
      tc.dir('dummy'),
      tc.symlink('/etc', '/dummy/etc'),
      tc.symlink('/dummy/etc', 'localetc'),
      tc.file('/dummy/etc/unbroken', expected),
    ],
    validate: unbrokenCheck,
  },
  {
    name: 'SymlinkMultipleRelative',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc'),
      tc.dir('dummy'),
      tc.symlink('/etc', '/dummy/etc'),
      tc.symlink('./dummy/etc', 'localetc'),
      tc.file('/dummy/etc/unbroken', expected),
    ],
    validate: unbrokenCheck,
  },
  {
    name: 'SymlinkEmptyFile',
    outcome: 'ok',
    entries: () => [tc.dir('etc'), tc.file('etc/emptied', 'notempty'), tc.symlink('/etc', 'localetc'), tc.file('/localetc/emptied', '')],
    validate: fileValue('etc/emptied', ''),
  },
  {
    name: 'HardlinkRelative',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc', 0o770),
      tc.file('/etc/passwd', 'inside'),
      tc.dir('breakouts'),
      tc.symlink('../../etc', 'breakouts/d1'),
      tc.link('/breakouts/d1/passwd', 'breakouts/mypasswd'),
    ],
    validate: sameFile('/breakouts/mypasswd', '/etc/passwd'),
  },
  {
    name: 'HardlinkDownAndOut',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc', 0o770),
      tc.file('/etc/passwd', 'inside'),
      tc.dir('breakouts'),
      tc.dir('downandout'),
      tc.symlink('../downandout/../../etc', 'breakouts/d1'),
      tc.link('/breakouts/d1/passwd', 'breakouts/mypasswd'),
    ],
    validate: sameFile('/breakouts/mypasswd', '/etc/passwd'),
  },
  {
    name: 'HardlinkAbsolute',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.symlink('/etc', 'localetc'), tc.link('/localetc/passwd', 'localpasswd')],
    validate: sameFile('localpasswd', '/etc/passwd'),
  },
  {
    name: 'HardlinkRelativeLong',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc', 0o770),
      tc.file('/etc/passwd', 'inside'),
      tc.symlink('../../../../../../../etc', 'localetc'),
      tc.link('/localetc/passwd', 'localpasswd'),
    ],
    validate: sameFile('localpasswd', '/etc/passwd'),
  },
  {
    name: 'HardlinkRelativeUpAndOut',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc', 0o770),
      tc.file('/etc/passwd', 'inside'),
      tc.symlink('upandout/../../../etc', 'localetc'),
      tc.link('/localetc/passwd', 'localpasswd'),
    ],
    validate: sameFile('localpasswd', '/etc/passwd'),
  },
  {
    name: 'HardlinkDirectRelative',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.link('../../../../../etc/passwd', 'localpasswd')],
    validate: sameFile('localpasswd', '/etc/passwd'),
  },
  {
    name: 'HardlinkDirectAbsolute',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.link('/etc/passwd', 'localpasswd')],
    validate: sameFile('localpasswd', '/etc/passwd'),
  },
  {
    name: 'SymlinkParentDirectory',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.symlink('/etc/', '..'), tc.link('/etc/passwd', 'localpasswd')],
    validate: sameFile('/localpasswd', '/etc/passwd'),
  },
  {
    name: 'SymlinkEmptyFilename',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.symlink('/etc/', ''), tc.link('/etc/passwd', 'localpasswd')],
    validate: sameFile('/localpasswd', '/etc/passwd'),
  },
  {
    name: 'SymlinkParentRelative',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc', 0o770),
      tc.file('/etc/passwd', 'inside'),
      tc.symlink('/etc/', 'localetc/sub/..'),
      tc.link('/etc/passwd', '/localetc/localpasswd'),
    ],
    validate: sameFile('/localetc/localpasswd', '/etc/passwd'),
  },
  {
    name: 'SymlinkSlashEnded',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.dir('localetc/', 0o770), tc.link('/etc/passwd', '/localetc/localpasswd')],
    validate: sameFile('/localetc/localpasswd', '/etc/passwd'),
  },
  {
    name: 'SymlinkOverrideDirectory',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd()(root);
      await mkdir(join(root, 'localetc'));
    },
    entries: () => [tc.symlink('/etc', 'localetc'), tc.link('/etc/passwd', '/localetc/localpasswd')],
    validate: sameFile('/localetc/localpasswd', '/etc/passwd'),
  },
  {
    name: 'SymlinkOverrideDirectoryRelative',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd()(root);
      await mkdir(join(root, 'localetc'));
    },
    entries: () => [tc.symlink('../../etc', 'localetc'), tc.link('/etc/passwd', '/localetc/localpasswd')],
    validate: sameFile('/localetc/localpasswd', '/etc/passwd'),
  },
  {
    name: 'DirectoryOverrideSymlink',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd()(root);
      await symlink('/etc', join(root, 'localetc'));
    },
    entries: () => [tc.dir('/localetc/'), tc.link('/etc/passwd', '/localetc/localpasswd')],
    validate: sameFile('/localetc/localpasswd', '/etc/passwd'),
  },
  {
    name: 'DirectoryOverrideSymlinkAndHardlink',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd()(root);
      await symlink('etc', join(root, 'localetc'));
      await link(join(root, 'etc/passwd'), join(root, 'etc/localpasswd'));
    },
    entries: () => [tc.dir('/localetc/'), tc.file('/localetc/localpasswd', 'different')],
    validate: notSameFile('/localetc/localpasswd', '/etc/passwd'),
  },
  { name: 'WhiteoutRootParent', outcome: 'invalid', pre: etcPasswd(), entries: () => [tc.file('.wh...', '')] },
  { name: 'WhiteoutParent', outcome: 'invalid', pre: etcPasswd(), entries: () => [tc.file('etc/.wh...', '')] },
  { name: 'WhiteoutRoot', outcome: 'invalid', pre: etcPasswd(), entries: () => [tc.file('.wh..', '')] },
  { name: 'WhiteoutCurrentDirectory', outcome: 'invalid', pre: etcPasswd(), entries: () => [tc.file('etc/.wh..', '')] },
  {
    name: 'WhiteoutSymlink',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd('all users')(root);
      await symlink('/etc', join(root, 'localetc'));
    },
    entries: () => [tc.file('.wh.localetc', '')],
    validate: all(fileValue('etc/passwd', 'all users'), fileNotExists('localetc')),
  },
  {
    name: 'WhiteoutSymlinkPath',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd('all users')(root);
      await writeFile(join(root, 'etc/whitedout'), 'ahhhh whiteout');
      await symlink('/etc', join(root, 'localetc'));
    },
    entries: () => [tc.file('localetc/.wh.whitedout', '')],
    validate: all(fileValue('etc/passwd', 'all users'), fileNotExists('etc/whitedout')),
  },
  {
    name: 'WhiteoutDirectoryName',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd('all users')(root);
      await writeFile(join(root, 'etc/whitedout'), 'ahhhh whiteout');
      await symlink('/etc', join(root, 'localetc'));
    },
    entries: () => [tc.file('.wh.etc/somefile', 'non-empty')],
    validate: all(fileValue('etc/passwd', 'all users'), fileValue('.wh.etc/somefile', 'non-empty')),
  },
  {
    name: 'WhiteoutDeadSymlinkParent',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd('all users')(root);
      await symlink('/dne', join(root, 'localetc'));
    },
    entries: () => [tc.file('localetc/.wh.etc', '')],
    validate: fileValue('etc/passwd', 'all users'),
  },
  {
    name: 'WhiteoutRelativePath',
    outcome: 'ok',
    pre: async (root) => {
      await etcPasswd('all users')(root);
      await symlink('/dne', join(root, 'localetc'));
    },
    entries: () => [tc.file('dne/../.wh.etc', '')],
    validate: fileNotExists('etc/passwd'),
  },
  {
    name: 'SymlinkOverridePath',
    outcome: 'ok',
    entries: () => [
      tc.dir('foo'),
      tc.dir('foo/tmp'),
      tc.file(`foo/tmp/${TNAME}`, '012'),
      tc.symlink('/', 'foo'),
      tc.file(`foo/tmp/${TNAME}`, '345'),
      tc.dir('foo'),
      tc.dir('foo/tmp'),
      tc.file(`foo/tmp/${TNAME}`, '678'),
    ],
    validate: all(async () => expect(existsSync(`/tmp/${TNAME}`)).toBe(false), fileValue(`foo/tmp/${TNAME}`, '678'), fileValue(`tmp/${TNAME}`, '345')),
  },
  {
    name: 'HardlinkSymlinkBeforeCreateTarget',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.symlink('/etc/passwd', 'localpasswd'), tc.link('localpasswd', 'localpasswd-dup'), tc.file('/etc/passwd', 'after')],
    validate: sameFile('localpasswd-dup', '/etc/passwd'),
  },
  {
    name: 'HardlinkSymlinkRelative',
    outcome: 'ok',
    entries: () => [
      tc.dir('etc', 0o770),
      tc.file('/etc/passwd', 'inside'),
      tc.symlink('../../../../../etc/passwd', 'passwdlink'),
      tc.link('/passwdlink', 'localpasswd'),
    ],
    validate: all(sameSymlink('/localpasswd', '/passwdlink'), sameFile('/localpasswd', '/etc/passwd')),
  },
  {
    name: 'HardlinkSymlinkAbsolute',
    outcome: 'ok',
    entries: () => [tc.dir('etc', 0o770), tc.file('/etc/passwd', 'inside'), tc.symlink('/etc/passwd', 'passwdlink'), tc.link('/passwdlink', 'localpasswd')],
    validate: all(sameSymlink('/localpasswd', '/passwdlink'), sameFile('/localpasswd', '/etc/passwd')),
  },
  {
    // CVE-2021-32760: a hardlink to a symlink pointing outside, then a chmod through it.
    name: 'HardlinkSymlinkChmod',
    outcome: 'ok',
    entries: (c) => [
      tc.symlink(join(c.outside, 'perm400'), join(c.outside, 'also-exists-outside-root')),
      tc.link(join(c.outside, 'also-exists-outside-root'), 'sketchylink'),
    ],
    validate: async (_root, c) => expect(statSync(join(c.outside, 'perm400')).mode & 0o777).toBe(0o400),
  },

  // berth's own cases: host-absolute targets (the real shape of an attack on a daemon).
  {
    // CVE-2025-47290 shape: a path is written, its parent swapped for a symlink to the host
    // within the same layer, then written through again.
    name: 'SymlinkSwapUnderPathSameLayer',
    outcome: 'either',
    entries: (c) => [
      tc.dir('a'),
      tc.file('a/sentinel', 'first'),
      tc.symlink(c.outside, 'a'),
      tc.file('a/sentinel', 'pwned', 0o777),
      tc.dir('a', 0o777),
      tc.file('a/x', 'y'),
    ],
  },
  {
    name: 'SymlinkToHostDirThenFile',
    outcome: 'either',
    entries: (c) => [tc.symlink(c.outside, 'out'), tc.file('out/sentinel', 'pwned'), tc.file('out/new-file', 'pwned')],
  },
  { name: 'SymlinkToHostFileThenFile', outcome: 'either', entries: (c) => [tc.symlink(join(c.outside, 'sentinel'), 'f'), tc.file('f', 'pwned')] },
  { name: 'DotDotPathFile', outcome: 'either', entries: () => [tc.file('../../../outside/sentinel', 'pwned'), tc.file('../../../outside/new-file', 'pwned')] },
  {
    name: 'AbsoluteHostPathFile',
    outcome: 'either',
    entries: (c) => [tc.file(join(c.outside, 'sentinel'), 'pwned'), tc.file(join(c.outside, 'new-file'), 'pwned')],
  },
  { name: 'HardlinkToHostAbsolute', outcome: 'either', entries: (c) => [tc.link(join(c.outside, 'sentinel'), 'stolen')] },
  { name: 'HardlinkToHostDotDot', outcome: 'either', entries: () => [tc.link('../../../outside/sentinel', 'stolen')] },
  {
    name: 'HardlinkViaSymlinkedParentToHost',
    outcome: 'either',
    entries: (c) => [tc.symlink(c.outside, 'l'), tc.link('l/sentinel', 'stolen'), { ...tc.file('stolen', 'pwned'), mode: 0o777 }],
  },
  { name: 'WhiteoutThroughHostSymlink', outcome: 'either', entries: (c) => [tc.symlink(c.outside, 'l'), tc.file('l/.wh.sentinel', '')] },
  { name: 'WhiteoutDotDotToHost', outcome: 'either', entries: () => [tc.file('../../../outside/.wh.sentinel', '')] },
  { name: 'OpaqueThroughHostSymlink', outcome: 'either', entries: (c) => [tc.symlink(c.outside, 'l'), tc.file('l/.wh..wh..opq', '')] },
  {
    name: 'WhiteoutOfHostSymlinkItself',
    outcome: 'either',
    pre: async (root, c) => void (await symlink(c.outside, join(root, 'l'))),
    entries: () => [tc.file('.wh.l', '')],
    validate: fileNotExists('l'),
  },
  {
    name: 'DirEntryOverHostSymlinkChmod',
    outcome: 'either',
    pre: async (root, c) => void (await symlink(c.outside, join(root, 'l'))),
    entries: () => [tc.dir('l', 0o777)],
  },
  {
    name: 'FileOverHostSymlink',
    outcome: 'either',
    pre: async (root, c) => void (await symlink(join(c.outside, 'sentinel'), join(root, 's'))),
    entries: () => [tc.file('s', 'pwned', 0o777)],
  },
  {
    name: 'DeviceViaHostSymlinkParent',
    outcome: 'either',
    entries: (c) => [tc.symlink(c.outside, 'l'), { name: 'l/null', type: 'character-device', devmajor: 1, devminor: 3 }, { name: 'l/fifo', type: 'fifo' }],
  },
  {
    name: 'XattrThroughHostSymlink',
    outcome: 'either',
    entries: (c) => [
      tc.symlink(join(c.outside, 'sentinel'), 's'),
      { name: 's', type: 'symlink', linkname: join(c.outside, 'sentinel'), pax: { 'SCHILY.xattr.user.pwned': '1' } },
    ],
  },
  {
    name: 'SymlinkChainToHost',
    outcome: 'either',
    entries: (c) => [tc.symlink(c.outside, 'a'), tc.symlink('a', 'b'), tc.symlink('b/../b', 'c'), tc.file('c/new-file', 'pwned')],
  },
  {
    name: 'ProcMagicLink',
    outcome: 'either',
    entries: () => [tc.symlink('/proc/self/cwd', 'p'), tc.file('p/new-file', 'pwned'), tc.symlink('/proc/self/root/tmp', 'q'), tc.file('q/new-file', 'pwned')],
  },
  { name: 'RootEntryNonDir', outcome: 'either', entries: () => [tc.symlink('/', '.'), tc.file('./x', 'ok')] },
];

describe('breakouts: refused or contained', () => {
  let c: Ctx;
  let hostBefore: string;
  const host = () => {
    const p = readFileSync('/etc/passwd');
    const s = statSync('/etc/passwd');
    return JSON.stringify([
      createHash('sha256').update(p).digest('hex'),
      s.mode,
      s.mtimeMs,
      existsSync('/etc/unbroken'),
      existsSync(`/tmp/${TNAME}`),
      existsSync('/localpasswd'),
    ]);
  };
  beforeEach(async () => {
    const dir = await tempDir('berth-breakout-');
    c = { dir, outside: join(dir, 'outside'), root: join(dir, 'r1', 'r2', 'root') };
    await mkdir(c.root, { recursive: true });
    await mkdir(c.outside);
    await writeFile(join(c.outside, 'sentinel'), 'unbroken');
    await chmod(join(c.outside, 'sentinel'), 0o640);
    await writeFile(join(c.outside, 'perm400'), '...');
    await chmod(join(c.outside, 'perm400'), 0o400);
    await writeFile(join(c.outside, 'also-exists-outside-root'), '...');
    await chmod(join(c.outside, 'also-exists-outside-root'), 0o640);
    await utimes(join(c.outside, 'sentinel'), new Date('2010-01-01'), new Date('2010-01-01'));
    hostBefore = host();
  });
  afterEach(async () => {
    await cleanup(c.dir);
  });

  for (const mode of ['plain', 'overlay'] as const) {
    for (const k of CASES) {
      itRoot(`${mode}: ${k.name}`, async () => {
        if (k.pre) await k.pre(c.root, c);
        const before = await snapshot(c.dir, [c.root]);
        const tar = await buildTar(k.entries(c));
        const target: UnpackTarget = mode === 'plain' ? { kind: 'plain', root: c.root } : { kind: 'overlay', upper: c.root };
        const res = await applyTar(tar, target).then(
          () => 'ok' as const,
          (e: { kind?: string; message: string }) => {
            expect(e.message).not.toMatch(/killed by|without a result/); // never a crash
            return e.kind === 'InvalidArgument' ? ('invalid' as const) : `error ${e.kind}: ${e.message}`;
          },
        );
        if (k.outcome !== 'either' || !['ok', 'invalid'].includes(res)) expect(res).toBe(k.outcome === 'either' ? 'ok' : k.outcome);
        if (mode === 'plain' && res === 'ok' && k.validate) await k.validate(c.root, c);
        // Containment: nothing outside the root changed or appeared, host files untouched.
        expect(await snapshot(c.dir, [c.root])).toEqual(before);
        expect(host()).toBe(hostBefore);
      });
    }
  }
});
