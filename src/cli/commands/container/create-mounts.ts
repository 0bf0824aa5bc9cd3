/**
 * The flags of `run` and `create` that volumes and restart policies brought (`--restart`, `-v`,
 * `--mount`, `--tmpfs`, `--volumes-from`), kept apart from create-options.ts: berthd parses and
 * checks them (Docker's daemon does too), the CLI passes them on as given. Bind sources are
 * relative to this directory, as Docker's CLI makes them absolute before sending.
 */
import { isAbsolute, resolve } from 'node:path';
import type { DeepPartial, engine } from '../../../client';
import type { Flags, FlagSpecs } from '../../args';

export const MOUNT_FLAGS = {
  mount: { type: 'strings', desc: 'Attach a filesystem mount to the container (type=volume|bind|tmpfs,source=…,target=…)', placeholder: 'mount' },
  restart: { type: 'string', desc: 'Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)', placeholder: 'string', defaultText: '"no"' },
  tmpfs: { type: 'strings', desc: 'Mount a tmpfs directory', placeholder: 'list' },
  volume: { type: 'strings', short: 'v', desc: 'Bind mount a volume ([NAME|HOST-PATH:]CONTAINER-PATH[:ro|rw,…])', placeholder: 'list' },
  volumesFrom: { type: 'strings', desc: 'Mount volumes from the specified container(s)', placeholder: 'list' },
} as const satisfies FlagSpecs;

type MountFlags = Flags<typeof MOUNT_FLAGS>;

/** `-v ./data:/data`: a source that is a path (not a volume name) is made absolute here. */
function absoluteBind(v: string): string {
  const i = v.indexOf(':');
  if (i <= 0) return v;
  const src = v.slice(0, i);
  if (isAbsolute(src) || !(src.startsWith('.') || src.includes('/'))) return v;
  return `${resolve(src)}${v.slice(i)}`;
}

/** `--mount type=bind,source=./x,…`: the same for a bind's relative source. */
function absoluteMount(m: string): string {
  const fields = m.split(',');
  if (!fields.some((f) => f === 'type=bind')) return m;
  return fields.map((f) => f.replace(/^(source|src)=(?!\/)(.+)$/, (_, k: string, p: string) => `${k}=${resolve(p)}`)).join(',');
}

export function mountsHostConfig(f: MountFlags): DeepPartial<engine.HostConfig> {
  return {
    restart: f.restart ?? '',
    binds: f.volume.map(absoluteBind),
    mounts: f.mount.map(absoluteMount),
    tmpfs: f.tmpfs,
    volumes_from: f.volumesFrom,
  };
}
