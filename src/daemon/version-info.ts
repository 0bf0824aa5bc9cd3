import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { VersionInfo } from '../services/version';

/** The package root (holds package.json and, in a checkout, .git), from src/daemon, dist/daemon or the bundle beside it. */
const PACKAGE_ROOT = resolve(__dirname, '..', '..');

/** `berth-<package version>`; revision = the checkout's git commit when there is one (read once, no git process). */
export function versionInfo(root = PACKAGE_ROOT): VersionInfo {
  let pkgVersion = '0.0.0';
  try {
    pkgVersion = String(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  } catch {
    /* keep the placeholder */
  }
  const version = `berth-${pkgVersion}`;
  return { version, revision: gitRevision(root) ?? version };
}

function gitRevision(root: string): string | undefined {
  try {
    const gitDir = gitDirOf(root);
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
    const ref = head.slice(5);
    const common = commonDirOf(gitDir);
    try {
      return readFileSync(join(common, ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(common, 'packed-refs'), 'utf8');
      return packed
        .split('\n')
        .find((l) => l.endsWith(' ' + ref))
        ?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}

/** `.git`, or where a worktree's `.git` file points. */
function gitDirOf(root: string): string {
  const dotGit = join(root, '.git');
  try {
    const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    return m ? resolve(root, m[1]!.trim()) : dotGit;
  } catch {
    return dotGit; // a directory (EISDIR), or none
  }
}

/** Branch refs live in the main repository's git dir, which a worktree's `commondir` names. */
function commonDirOf(gitDir: string): string {
  try {
    return resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim());
  } catch {
    return gitDir;
  }
}
