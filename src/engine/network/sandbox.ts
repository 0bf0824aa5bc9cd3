/**
 * A container's live networking (its "sandbox", in Docker's word): the pinned namespace, the
 * attachments in it and the host ports held for it. Kept in berthd's state dir, one file per
 * container, written before the first ADD (`attaching`) and after each change, so that a
 * restarted berthd knows what to keep (the container still runs) and what to take down.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/node/files';
import { CNI_ID } from '../../net/cni/types';
import { PortSchema } from './schema';
import type { EndpointSettings, PortBinding } from './types';

export interface Sandbox {
  version: 1;
  /** The container's id: its CNI_CONTAINERID and its namespace file's name. */
  id: string;
  /** The containerd namespace it belongs to. */
  ns: string;
  /** Its name and hostname (names other containers resolve). */
  name: string;
  hostname: string;
  mode: 'bridge' | 'none';
  netns: string;
  state: 'attaching' | 'attached';
  endpoints: EndpointSettings[];
  ports: PortBinding[];
  /** The network whose attachment maps the ports. */
  portsOn?: string;
  /**
   * The DNAT rules berthd wrote for the ports (PublishedPorts.rules), removed at detach. A
   * sandbox of an older berthd has none: its ports are the portmap plugin's, which its DEL
   * (from the CNI cache) removes.
   */
  portRules?: readonly string[];
  /** Their FORWARD accepts (PublishedPorts.accepts); none in a sandbox made before berthd wrote them. */
  portAccepts?: readonly string[];
  /** `--dns`: where its queries go instead of berthd's upstreams. */
  dnsServers: string[];
}

const EndpointSchema = z.object({
  networkId: z.string(),
  networkName: z.string(),
  ifName: z.string(),
  ipAddress: z.string(),
  ipPrefixLen: z.number().int(),
  gateway: z.string(),
  macAddress: z.string(),
  aliases: z.array(z.string()),
  dnsNames: z.array(z.string()),
});
const SandboxSchema = z.object({
  version: z.literal(1),
  id: z.string().regex(CNI_ID),
  ns: z.string(),
  name: z.string(),
  hostname: z.string(),
  mode: z.enum(['bridge', 'none']),
  netns: z.string(),
  state: z.enum(['attaching', 'attached']),
  endpoints: z.array(EndpointSchema),
  ports: z.array(PortSchema),
  portsOn: z.string().optional(),
  portRules: z.array(z.string()).optional(),
  portAccepts: z.array(z.string()).optional(),
  dnsServers: z.array(z.string()),
});

export class SandboxFiles {
  constructor(readonly dir: string) {}

  async write(s: Sandbox): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, `${s.id}.json`), JSON.stringify(s));
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  /** Every sandbox on disk; unreadable files are returned apart (their ids, from the file name). */
  async list(): Promise<{ sandboxes: Sandbox[]; broken: Array<{ id: string; error: Error }> }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { sandboxes: [], broken: [] };
      throw e;
    }
    const sandboxes: Sandbox[] = [];
    const broken: Array<{ id: string; error: Error }> = [];
    for (const f of names.filter((n) => n.endsWith('.json'))) {
      try {
        sandboxes.push(SandboxSchema.parse(JSON.parse(await readFile(join(this.dir, f), 'utf8'))) as Sandbox);
      } catch (e) {
        broken.push({ id: f.slice(0, -'.json'.length), error: e as Error });
      }
    }
    return { sandboxes, broken };
  }
}
