import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../core/logger';
import { stderrLogger } from '../core/node/stderr-logger';
import { MetadataDB } from '../metadata/db';
import { ServiceRegistry } from '../services/grpc/registry';
import { GrpcServer } from '../transport';
import { emptyWired, wireSlices } from './compose';
import type { Config } from './config';
import type { Parts, PluginInfo, Slice } from './slice';
import { SLICES } from './slices';

/** containerd's defaults.DefaultMax{Recv,Send}MsgSize: ctr sends and expects up to 16 MiB. */
export const MAX_MESSAGE_BYTES = 16 << 20;

export interface Daemon {
  readonly address: string;
  /** What the slices provided, by their typed keys (e.g. `daemon.parts.get(EVENTS)`). */
  readonly parts: Parts;
  /** Introspection/Plugins, read at call time. */
  readonly plugins: PluginInfo[];
  close(): Promise<void>;
}

/**
 * Starts berthd: opens the metadata DB, wires the slices in dependency order, binds the unix
 * socket. `slices` defaults to berthd's own (slices/index.ts); an embedder may add its own.
 */
export async function startDaemon(
  config: Config,
  log: Logger = stderrLogger(config.logLevel, { component: 'berthd' }),
  slices: readonly Slice[] = SLICES,
): Promise<Daemon> {
  // CVE-2024-25621 guidance: root 0700, state 0711, socket 0660.
  await mkdir(config.root, { recursive: true, mode: 0o700 });
  await chmod(config.root, 0o700);
  await mkdir(config.state, { recursive: true, mode: 0o711 });
  await mkdir(dirname(config.address), { recursive: true, mode: 0o711 });

  const db = await MetadataDB.open(join(config.root, 'meta'));
  const wired = emptyWired();
  const closeAll = async () => {
    for (const fn of [...wired.closers, () => db.close()]) {
      try {
        await fn();
      } catch (e) {
        log.warn('close failed', { err: e });
      }
    }
  };

  const services = new ServiceRegistry();
  let server: GrpcServer | undefined;
  try {
    await wireSlices({ config, log, db, services }, slices, wired);
    server = new GrpcServer({
      maxReceiveMessageLength: MAX_MESSAGE_BYTES,
      onError: (method, e) => log.error('handler threw', { method, err: e }),
    });
    services.registerAll(server);
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
  const s = server;
  return {
    address: config.address,
    parts: wired.parts,
    plugins: wired.plugins,
    close: () =>
      (closed ??= (async () => {
        for (const fn of wired.shutdownHooks) {
          try {
            await fn();
          } catch (e) {
            log.warn('shutdown hook failed', { err: e });
          }
        }
        await s.close(2000);
        await closeAll();
        await rm(config.address, { force: true });
        log.info('berthd stopped');
      })()),
  };
}
