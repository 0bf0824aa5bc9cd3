import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../core/logger';
import { EventExchange } from '../events/exchange';
import { EVENTS_SERVICE, eventsService } from '../services/events';
import { INTROSPECTION_SERVICE, introspectionService } from '../services/introspection';
import { VERSION_SERVICE, versionService, type VersionInfo } from '../services/version';
import type { Wiring } from './wiring';
import { writeFileAtomic } from '../core/node/files';

/** The package root (holds package.json and, in a checkout, .git), from src/daemon or dist/daemon. */
const PACKAGE_ROOT = resolve(__dirname, '..', '..');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Wires events first (every later slice publishes through `w.events`), plus Version and
 * Introspection. The exchange is also exposed as `w.parts.get('events')` (an EventExchange).
 */
export async function wireEvents(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'events' });
  const exchange = new EventExchange(log);
  w.events = exchange;
  w.parts.set('events', exchange);
  // Ending subscriptions first lets the server drain at once instead of waiting for the force timeout.
  w.onShutdown(() => exchange.close());

  const uuid = await loadOrCreateUuid(w.config.root, w.log);
  w.services.add(EVENTS_SERVICE, eventsService(w.log, exchange));
  w.services.add(VERSION_SERVICE, versionService(w.log, versionInfo()));
  w.services.add(INTROSPECTION_SERVICE, introspectionService(w.log, { plugins: () => w.plugins, uuid }));

  w.plugins.push(
    { type: 'io.containerd.event.v1', id: 'exchange' },
    { type: 'io.containerd.grpc.v1', id: 'events', requires: ['io.containerd.event.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'version' },
    { type: 'io.containerd.grpc.v1', id: 'introspection' },
  );
}

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
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
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
      return packed.split('\n').find((l) => l.endsWith(' ' + ref))?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}
