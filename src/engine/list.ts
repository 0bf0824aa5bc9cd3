/** `ps`: the containers of a namespace, newest first, with Docker's filters and status text. */
import { invalidArgument } from '../core/errors';
import { humanDuration } from '../core/human';
import { familiarName, normalizeReference } from './image';
import type { EngineRecord } from './record';
import type { ContainerSummary, ListOptions, NetworkSettings } from './types';

export function statusText(r: EngineRecord, now = Date.now()): string {
  const st = r.state;
  switch (st.status) {
    case 'running':
    case 'paused':
      return `Up ${humanDuration(now - (st.startedAt?.getTime() ?? now))}${st.status === 'paused' ? ' (Paused)' : ''}`;
    case 'exited':
      return `Exited (${st.exitCode}) ${humanDuration(now - (st.finishedAt?.getTime() ?? now))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'restarting':
      return `Restarting (${st.exitCode}) ${humanDuration(now - (st.finishedAt?.getTime() ?? now))} ago`;
    default:
      return 'Created';
  }
}

const FILTERS = ['id', 'name', 'status', 'label', 'ancestor', 'exited'];

function matches(r: EngineRecord, f: Record<string, string[]>): boolean {
  const any = (k: string, test: (v: string) => boolean) => !f[k]?.length || f[k]!.some(test);
  const normalized = (v: string) => {
    try {
      return normalizeReference(v);
    } catch {
      return v;
    }
  };
  const nameRe = (v: string) => {
    try {
      return new RegExp(v.replace(/^\//, '')).test(r.name);
    } catch {
      throw invalidArgument(`invalid filter 'name=${v}': not a regular expression`);
    }
  };
  return (
    any('id', (v) => r.id.startsWith(v)) &&
    any('name', nameRe) &&
    any('status', (v) => r.state.status === v) &&
    any('exited', (v) => r.state.status === 'exited' && String(r.state.exitCode) === v) &&
    any(
      'ancestor',
      (v) => r.config.image === v || normalized(r.config.image) === normalized(v) || r.imageId.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, '')),
    ) &&
    any('label', (v) => {
      const [k, val] = v.split(/=(.*)/s, 2) as [string, string | undefined];
      return val === undefined ? k in r.config.labels : r.config.labels[k] === val;
    })
  );
}

export function listContainers(
  records: readonly EngineRecord[],
  o: ListOptions = {},
  live: (id: string) => NetworkSettings | undefined = () => undefined,
): ContainerSummary[] {
  const f = o.filters ?? {};
  for (const k of Object.keys(f)) if (!FILTERS.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
  for (const v of f.status ?? [])
    if (!['created', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing'].includes(v)) throw invalidArgument(`invalid filter 'status=${v}'`);
  return records
    .filter((r) => r.phase !== 'creating')
    .filter((r) => o.all || r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'restarting')
    .filter((r) => matches(r, f))
    .sort((a, b) => b.created.getTime() - a.created.getTime())
    .map((r) => ({
      id: r.id,
      names: [`/${r.name}`],
      image: r.config.image.startsWith('sha256:') ? r.config.image : familiarName(r.config.image),
      imageId: r.imageId,
      command: [r.path, ...r.args].join(' '),
      created: r.created,
      status: r.state.status,
      statusText: statusText(r),
      labels: { ...r.config.labels },
      ports: live(r.id)?.ports ?? [],
      networks:
        r.network.mode === 'bridge'
          ? r.network.endpoints.map((e) => e.networkName)
          : [r.network.mode === 'container' ? `container:${r.network.joinContainer}` : r.network.mode],
    }));
}
