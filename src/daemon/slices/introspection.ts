import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errnoCode } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { writeFileAtomic } from '../../core/node/files';
import { INTROSPECTION_SERVICE, introspectionService } from '../../services/introspection';
import { VERSION_SERVICE, versionService, type VersionInfo } from '../../services/version';
import type { Slice } from '../slice';

/** The package root (holds package.json and, in a checkout, .git), from src/daemon/slices or dist/daemon/slices. */
const PACKAGE_ROOT = resolve(__dirname, '..', '..', '..');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Version and Introspection: what berthd is, and the plugin list of every slice. */
export const introspectionSlice: Slice = {
  name: 'introspection',
  requires: [],
  provides: [],
  plugins: () => [
    { type: 'io.containerd.grpc.v1', id: 'version' },
    { type: 'io.containerd.grpc.v1', id: 'introspection' },
  ],
  async wire(ctx) {
    const uuid = await loadOrCreateUuid(ctx.config.root, ctx.log);
    ctx.services.add(VERSION_SERVICE, versionService(ctx.log, versionInfo()));
    ctx.services.add(INTROSPECTION_SERVICE, introspectionService(ctx.log, { plugins: ctx.plugins, uuid }));
  },
};

/**
 * The daemon's stable identity (`ctr version` prints it), generated once and kept in `<root>/uuid`.
 * Written to a temp file, fsynced and renamed, so a crash leaves either no file or a whole one.
 */
export async function loadOrCreateUuid(root: string, log: Logger): Promise<string> {
  const file = join(root, 'uuid');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (UUID_RE.test(existing)) return existing;
    log.warn('server uuid file is malformed: replacing it', { file });
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  const uuid = randomUUID();
  await writeFileAtomic(file, uuid + '\n', { durable: true });
  return uuid;
}

/** `berth-<package version>`; revision = the checkout's git commit when there is one (read once, no git process). */
export function versionInfo(): VersionInfo {
  let pkgVersion = '0.0.0';
  try {
    pkgVersion = String(JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version);
  } catch {
    /* keep the placeholder */
  }
  const version = `berth-${pkgVersion}`;
  return { version, revision: gitRevision() ?? version };
}

function gitRevision(): string | undefined {
  try {
    const gitDir = join(PACKAGE_ROOT, '.git');
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
    const ref = head.slice(5);
    try {
      return readFileSync(join(gitDir, ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(gitDir, 'packed-refs'), 'utf8');
      return packed
        .split('\n')
        .find((l) => l.endsWith(' ' + ref))
        ?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}
