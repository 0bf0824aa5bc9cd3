/**
 * Fixtures for the registry client and transfer tests: a loopback docker-registry with a
 * misbehaving proxy in front (./registry-proxy), a work dir, and for transfer tests an
 * in-process berthd with its stores at hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContentStore } from '../../src/content/types';
import type { ImageStore } from '../../src/images/types';
import type { LevelLeaseStore } from '../../src/metadata/leases';
import type { NamespacedSnapshotter } from '../../src/metadata/snapshots';
import type { TransferService } from '../../src/transfer';
import { CONTENT } from '../../src/daemon/slices/content';
import { IMAGES, LEASES } from '../../src/daemon/slices/metadata';
import { SNAPSHOTTERS } from '../../src/daemon/slices/snapshotters';
import { TRANSFER } from '../../src/daemon/slices/transfer';
import { startInProcess } from './daemon';
import { startRegistry, type Registry } from './registry';
import { startRegistryProxy, type RegistryProxy } from './registry-proxy';

/** All of a stream's bytes. */
export async function collectBytes(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

export interface RegistryFixture {
  reg: Registry;
  proxy: RegistryProxy;
  work: string;
  stop(): Promise<void>;
}

export async function startRegistryFixture(name: string): Promise<RegistryFixture> {
  const reg = await startRegistry();
  const proxy = await startRegistryProxy(reg);
  const work = await mkdtemp(join(tmpdir(), `berth-${name}-`));
  return {
    reg,
    proxy,
    work,
    stop: async () => {
      await proxy.stop();
      await reg.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}

export interface TransferFixture extends RegistryFixture {
  daemon: Awaited<ReturnType<typeof startInProcess>>;
  transfer: TransferService;
  content: ContentStore;
  images: ImageStore;
  leases: LevelLeaseStore;
  overlay: NamespacedSnapshotter;
}

/** A registry fixture plus berthd in this process; `stop` stops both. */
export async function startTransferFixture(name: string): Promise<TransferFixture> {
  const r = await startRegistryFixture(name);
  const daemon = await startInProcess({ logLevel: 'error' });
  const parts = daemon.daemon.parts;
  return {
    ...r,
    daemon,
    transfer: parts.get(TRANSFER),
    content: parts.get(CONTENT),
    images: parts.get(IMAGES),
    leases: parts.get(LEASES),
    overlay: parts.get(SNAPSHOTTERS).get('overlayfs')!,
    stop: async () => {
      await daemon.stop();
      await r.stop();
    },
  };
}
