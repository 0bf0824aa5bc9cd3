import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createLogger, type Logger } from '../core/logger';
import { MetadataDB } from '../metadata/db';
import { GrpcServer } from '../transport/grpc/server';
import { ServiceRegistry } from '../services/grpc/registry';
import type { Config } from './config';
import type { PluginInfo, Wiring } from './wiring';
import { wireEvents } from './wire-events';
import { wireContent } from './wire-content';
import { wireMetadata } from './wire-metadata';
import { wireSnapshots } from './wire-snapshots';
import { wireDiff } from './wire-diff';
import { wireTasks } from './wire-tasks';

/** containerd's defaults.DefaultMax{Recv,Send}MsgSize: ctr sends and expects up to 16 MiB. */
export const MAX_MESSAGE_BYTES = 16 << 20;

export interface Daemon {
  readonly address: string;
  readonly wiring: Wiring;
  close(): Promise<void>;
}

/** Starts berthd: opens the stores, wires the slices in order, binds the unix socket. */
export async function startDaemon(config: Config, log: Logger = createLogger(config.logLevel, { component: 'berthd' })): Promise<Daemon> {
  // CVE-2024-25621 guidance: root 0700, state 0711, socket 0660.
  await mkdir(config.root, { recursive: true, mode: 0o700 });
  await chmod(config.root, 0o700);
  await mkdir(config.state, { recursive: true, mode: 0o711 });
  await mkdir(dirname(config.address), { recursive: true, mode: 0o711 });

  const db = await MetadataDB.open(join(config.root, 'meta'));
  const closers: Array<() => Promise<void> | void> = [() => db.close()];
  const shutdownHooks: Array<() => Promise<void> | void> = [];
  const plugins: PluginInfo[] = [];
  const w: Wiring = {
    config,
    log,
    db,
    services: new ServiceRegistry(),
    plugins,
    parts: new Map(),
    snapshotCollectors: new Map(),
    onClose: (fn) => closers.push(fn),
    onShutdown: (fn) => shutdownHooks.push(fn),
  };
  const closeAll = async () => {
    for (const fn of closers.reverse()) {
      try {
        await fn();
      } catch (e) {
        log.warn('close failed', { err: e as Error });
      }
    }
  };

  let server: GrpcServer | undefined;
  try {
    // Order matters: events first (everyone publishes), content before metadata (GC needs the
    // content backend), snapshots before diff and tasks.
    await wireEvents(w);
    await wireContent(w);
    await wireMetadata(w);
    await wireSnapshots(w);
    await wireDiff(w);
    await wireTasks(w);

    server = new GrpcServer({
      maxReceiveMessageLength: MAX_MESSAGE_BYTES,
      onError: (method, e) => log.error('handler threw', { method, err: e as Error }),
    });
    w.services.registerAll(server);
    await rm(config.address, { force: true });
    await server.listen(config.address);
    await chmod(config.address, 0o660);
  } catch (e) {
    await server?.close(0);
    await closeAll();
    throw e;
  }
  log.info('berthd serving', { address: config.address, root: config.root, state: config.state });

  let closed: Promise<void> | undefined;
  return {
    address: config.address,
    wiring: w,
    close: () =>
      (closed ??= (async () => {
        const s = server!;
        for (const fn of shutdownHooks) {
          try {
            await fn();
          } catch (e) {
            log.warn('shutdown hook failed', { err: e as Error });
          }
        }
        await s.close(2000);
        await closeAll();
        await rm(config.address, { force: true });
        log.info('berthd stopped');
      })()),
  };
}
