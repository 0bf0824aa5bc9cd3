// No node:fs/promises before the socket is bound: it loads readline and fs's watchers with it, ~5
// ms of CPU compiled from source under berthd's V8 flags (node-flags.ts). Unlinking a socket
// file and a chmod are single syscalls: the synchronous calls cost nothing here.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../core/logger';
import { stderrLogger } from '../core/node/stderr-logger';
import { ServiceRegistry } from '../services/grpc/registry';
import { VERSION_SERVICE, versionService } from '../services/version';
import { GrpcServer } from '../transport';
import type { Config } from './config';
import type { OpenParts } from './open-parts';
import type { Parts, PluginInfo, Slice } from './slice';
import { bindUnlessServed } from './bind';
import { mark } from './startup-trace';
import { versionInfo } from './version-info';

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
 * Starts berthd: binds the unix socket, then opens the metadata DB and wires the slices in
 * dependency order (open-parts.ts). Version answers as soon as the socket is bound; every other
 * call made meanwhile waits until wiring is done (restored tasks included), then runs. When
 * another process serves on the address, the socket is bound only after wiring (bind.ts).
 * Resolves once everything is wired. `slices` defaults to berthd's own (slices/index.ts); an embedder may
 * add its own.
 */
export async function startDaemon(
  config: Config,
  log: Logger = stderrLogger(config.logLevel, { component: 'berthd' }),
  slices?: readonly Slice[],
): Promise<Daemon> {
  // CVE-2024-25621 guidance: root 0700, state 0711, socket 0660. Synchronous until the socket is
  // bound: nothing else runs meanwhile, and on a loaded machine each thread-pool round trip was
  // one more wait for a core before the first call could be answered.
  mkdirSync(config.root, { recursive: true, mode: 0o700 });
  chmodSync(config.root, 0o700);
  mkdirSync(config.state, { recursive: true, mode: 0o711 });
  mkdirSync(dirname(config.address), { recursive: true, mode: 0o711 });
  mark('mkdirs');

  const services = new ServiceRegistry();
  services.add(VERSION_SERVICE, versionService(log, versionInfo()));
  const server = new GrpcServer({
    maxReceiveMessageLength: MAX_MESSAGE_BYTES,
    onError: (method, e) => log.error('handler threw', { method, err: e }),
  });
  let opened!: (ok: boolean, e?: unknown) => void;
  const opening = new Promise<void>((resolve, reject) => (opened = (ok, e) => (ok ? resolve() : reject(e))));
  opening.catch(() => undefined); // the waiting calls answer UNAVAILABLE; startDaemon throws
  services.serveWhileOpening(server, opening);
  let early: boolean;
  try {
    early = await bindUnlessServed(server, config.address);
    if (early) chmodSync(config.address, 0o660);
  } catch (e) {
    await server.close(0);
    throw e;
  }
  mark('listening');

  let parts: OpenParts;
  try {
    // Loaded only now, a group of modules per turn of the event loop: see load-in-turns.ts.
    const { openParts } = await (await import('./load-in-turns')).loadOpenParts(server);
    mark('open-parts-loaded');
    parts = await openParts({ config, log, services }, slices);
  } catch (e) {
    opened(false, e);
    // A grace for the waiting calls to send their UNAVAILABLE before the connections go.
    await server.close(1000);
    if (early) rmSync(config.address, { force: true });
    throw e;
  }
  services.registerAll(server);
  opened(true);
  if (!early) {
    // Another process served on the address and our root was not locked by it: take the address over, as before.
    try {
      rmSync(config.address, { force: true });
      await server.listen(config.address);
      chmodSync(config.address, 0o660);
    } catch (e) {
      await server.close(0);
      await parts.close();
      throw e;
    }
  }
  mark('wired');
  log.info('berthd serving', { address: config.address, root: config.root, state: config.state });

  let closed: Promise<void> | undefined;
  return {
    address: config.address,
    parts: parts.wired.parts,
    plugins: parts.wired.plugins,
    close: () =>
      (closed ??= (async () => {
        for (const fn of parts.wired.shutdownHooks) {
          try {
            await fn();
          } catch (e) {
            log.warn('shutdown hook failed', { err: e });
          }
        }
        await server.close(2000);
        await parts.close();
        rmSync(config.address, { force: true });
        log.info('berthd stopped');
      })()),
  };
}
