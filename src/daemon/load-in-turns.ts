import type { GrpcServer } from '../transport';
import { mark } from './startup-trace';

/*
 * What open-parts.ts loads (LevelDB's native addon, the Node built-ins the slices require, the
 * slices' modules) is ~50 ms of synchronous work, more on a loaded machine: berthd's V8 flags make
 * Node compile its built-ins from source (node-flags.ts). A call to the socket just bound (a
 * readiness probe, `ctr version`) would wait for all of it. Loaded in steps instead, each a turn
 * of the event loop apart, so a call waits for at most one step; the built-ins each make a step
 * of their own, being the largest part.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a built-in is loaded by require, in a step of its own */
const STEPS: ReadonlyArray<readonly [string, () => unknown]> = [
  ['fs/promises', () => require('node:fs/promises')],
  ['dgram', () => require('node:dgram')],
  ['crypto', () => require('node:crypto')],
  ['zlib', () => require('node:zlib')],
  ['metadata-db', () => import('../metadata/db')],
  ['slice tasks', () => import('./slices/tasks')],
  ['slice transfer', () => import('./slices/transfer')],
  ['slice engine', () => import('./slices/engine')],
  ['slice network', () => import('./slices/network')],
];
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * After a connection is accepted, the next step waits this long: its first call (headers and
 * message come a few ms after the connection) is answered, or waits for the stores, first.
 */
export const NEW_CONNECTION_GRACE_MS = 10;
/** All graces together: a peer connecting every few ms cannot hold start-up back for longer. */
export const GRACE_BUDGET_MS = 50;

/** open-parts.ts, loaded in steps (main.ts loads it once `server` listens). */
export async function loadOpenParts(server: GrpcServer): Promise<typeof import('./open-parts')> {
  let budget = GRACE_BUDGET_MS;
  const nextTurn = async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const wait = Math.min(budget, server.lastConnectionAt + NEW_CONNECTION_GRACE_MS - performance.now());
    if (wait <= 0) return;
    budget -= wait;
    await new Promise<void>((resolve) => setTimeout(resolve, wait));
  };
  for (const [name, load] of STEPS) {
    await nextTurn();
    await load();
    mark(`loaded ${name}`);
  }
  await nextTurn();
  return import('./open-parts');
}
