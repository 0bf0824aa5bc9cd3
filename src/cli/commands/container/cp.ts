/**
 * `berth cp`: files between a container and this machine, with Docker's rules for names (moby's
 * pkg/archive copy.go): into an existing directory under the source's base name, else as the
 * destination's name; `SRC/.` copies a directory's contents; `-` is a tar on stdin or stdout.
 * berthd resolves the container's paths inside its root (symlinks there cannot lead out).
 */
import { lstat, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isNotFound } from '../../../client';
import type { Cli } from '../../cli';
import { CliError, defineCommand } from '../../command';
import { extractLocal, packLocal } from '../../local-archive';
import { humanSize } from '../../output/units';

interface Arg {
  container?: string;
  path: string;
}

/** Docker's splitCpArg: a path that starts with `/` or `.` is local even with a colon in it. */
function splitArg(a: string): Arg {
  if (a.startsWith('/') || a.startsWith('.')) return { path: a };
  const i = a.indexOf(':');
  if (i <= 0) return { path: a };
  return { container: a.slice(0, i), path: a.slice(i + 1) };
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const endsWithDot = (p: string) => p === '.' || p.endsWith('/.');
const assertsDir = (p: string) => p.endsWith('/') || endsWithDot(p);

/** The top name a tar of `path` starts with, as Docker's TarResource names it. */
const topName = (path: string) => (endsWithDot(path) ? '.' : basename(path.replace(/\/+$/, '')) || '.');

async function copyOut(cli: Cli, container: string, src: string, dst: string, f: { followLink: boolean; quiet: boolean }): Promise<void> {
  const engine = cli.client.engine;
  let path = src;
  let rebase = '';
  if (f.followLink) {
    const st = await engine.statPath({ container, path: src });
    if ((st.mode & S_IFMT) === S_IFLNK && st.link_target) {
      path = st.link_target;
      rebase = topName(src);
    }
  }
  const { stat: st, data } = await engine.copyFromArchive({ container, path });
  if (dst === '-') {
    if (cli.stdoutIsTTY) throw new CliError('cowardly refusing to write a tar archive to a terminal', 1);
    await pipeline(Readable.from(data), process.stdout, { end: false });
    return;
  }
  const srcIsDir = (st.mode & S_IFMT) === S_IFDIR;
  const from = rebase ? topName(path) : topName(src);
  const name = rebase || from;
  const target = resolve(dst);
  const existing = await stat(target).catch(() => undefined);
  let root: string;
  let to: string;
  if (existing?.isDirectory()) {
    root = target;
    to = endsWithDot(src) ? '' : name;
  } else if (existing) {
    if (srcIsDir) throw new CliError(`cannot copy directory to a file: ${dst}`, 1);
    root = dirname(target);
    to = basename(target);
  } else {
    if (assertsDir(dst) && !srcIsDir) throw new CliError(`no such directory: ${dst}`, 1);
    root = dirname(target);
    to = basename(target);
    const parent = await stat(root).catch(() => undefined);
    if (!parent?.isDirectory()) throw new CliError(`no such directory: ${root}`, 1);
  }
  // A `dir/.` archive names the contents `./x`: its top is '' once names are cleaned.
  const bytes = await extractLocal(data, root, { from: from === '.' ? '' : from, to });
  if (!f.quiet) await cli.err(`Successfully copied ${humanSize(bytes)} to ${dst}\n`);
}

async function copyIn(cli: Cli, src: string, container: string, dst: string, f: { followLink: boolean; quiet: boolean; archive: boolean }): Promise<void> {
  const engine = cli.client.engine;
  if (src === '-') {
    await engine.copyToArchive({ container, path: dst, copy_uid_gid: f.archive }, process.stdin);
    return;
  }
  const local = resolve(src);
  const st = await (f.followLink ? stat(local) : lstat(local)).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`lstat ${local}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`, 1);
  });
  let target = dst;
  let dstStat;
  try {
    dstStat = await engine.statPath({ container, path: dst });
    if ((dstStat.mode & S_IFMT) === S_IFLNK && dstStat.link_target) {
      target = dstStat.link_target;
      dstStat = await engine.statPath({ container, path: target });
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  let dir: string;
  let top: string;
  if (dstStat && (dstStat.mode & S_IFMT) === S_IFDIR) {
    dir = target;
    top = endsWithDot(src) ? '' : topName(src);
  } else if (dstStat) {
    if (st.isDirectory()) throw new CliError(`cannot copy directory to a file: ${container}:${dst}`, 1);
    dir = dirname(target);
    top = basename(target);
  } else {
    if (assertsDir(dst) && !st.isDirectory()) throw new CliError(`no such directory: ${container}:${dst}`, 1);
    dir = dirname(target.replace(/\/+$/, '')) || '/';
    top = basename(target.replace(/\/+$/, ''));
  }
  let bytes = 0;
  const counted = (async function* () {
    for await (const b of packLocal(local, top, { uid: 0, gid: 0 })) {
      bytes += b.length;
      yield b;
    }
  })();
  await engine.copyToArchive({ container, path: dir, copy_uid_gid: f.archive }, counted);
  if (!f.quiet) await cli.err(`Successfully copied ${humanSize(bytes)} to ${container}:${dst}\n`);
}

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local filesystem',
  description:
    "Use '-' as the source to read a tar archive from stdin and extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a container source to stdout.",
  minArgs: 2,
  maxArgs: 2,
  flags: {
    archive: { type: 'bool', short: 'a', desc: 'Archive mode (copy all uid/gid information)' },
    followLink: { type: 'bool', short: 'L', desc: 'Always follow symbol link in SRC_PATH' },
    quiet: { type: 'bool', short: 'q', desc: 'Suppress progress output during copy' },
  },
  async run(cli, f, [a, b]) {
    const src = splitArg(a!);
    const dst = splitArg(b!);
    if (src.container !== undefined && dst.container !== undefined) throw new CliError('copying between containers is not supported', 1);
    if (src.container === undefined && dst.container === undefined) throw new CliError('must specify at least one container source', 1);
    if (src.container !== undefined) {
      if (!src.container || !src.path) throw new CliError('filepath can not be empty', 1);
      await copyOut(cli, src.container, src.path, dst.path, f);
    } else {
      if (!dst.path) throw new CliError('filepath can not be empty', 1);
      await copyIn(cli, src.path, dst.container!, dst.path, f);
    }
  },
});
