/** Decoding what the network side keeps on disk (a container's network config, published ports). */
import { z } from 'zod';
import type { ContainerNetConfig } from './types';

export const PortSchema = z.object({ hostIp: z.string(), hostPort: z.number().int(), containerPort: z.number().int(), proto: z.enum(['tcp', 'udp']) });

export const ContainerNetConfigSchema = z.object({
  version: z.literal(1),
  mode: z.enum(['bridge', 'none', 'host', 'container']),
  joinContainer: z.string().optional(),
  endpoints: z.array(z.object({ networkId: z.string(), networkName: z.string(), ip: z.string().optional(), aliases: z.array(z.string()) })),
  ports: z.array(PortSchema),
  dns: z.object({ servers: z.array(z.string()), search: z.array(z.string()), options: z.array(z.string()) }),
  extraHosts: z.array(z.object({ name: z.string(), ip: z.string() })),
}) satisfies z.ZodType<ContainerNetConfig>;

/** The config of a container made before networking existed (its mode was none or host). */
export function legacyNetConfig(mode: string): ContainerNetConfig {
  return { version: 1, mode: mode === 'host' ? 'host' : 'none', endpoints: [], ports: [], dns: { servers: [], search: [], options: [] }, extraHosts: [] };
}
