import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { writeFileAtomic } from '../../core/node/files';
import { INTROSPECTION_SERVICE, introspectionService } from '../../services/introspection';
import type { Slice } from '../slice';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Introspection: the daemon's uuid and the plugin list of every slice. Version is listed here but
 * served by main.ts from the moment the socket is bound (it needs no part).
 */
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
