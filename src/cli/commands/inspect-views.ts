/**
 * What `inspect` prints: berthd's container and image records in Docker's JSON shape (the field
 * names `docker inspect` users and their `--format` templates know: .State.Status, .Config.Env,
 * .HostConfig.Memory, .RepoTags ...).
 */
import { fromTimestamp, type engine } from '../../client';

const iso = (t: Parameters<typeof fromTimestamp>[0]) => fromTimestamp(t)?.toISOString() ?? '0001-01-01T00:00:00Z';

export function containerView(c: engine.Container) {
  const s = c.state;
  const k = c.config;
  const h = c.host_config;
  return {
    Id: c.id,
    Created: iso(c.created),
    Path: c.path,
    Args: c.args,
    State: {
      Status: s?.status ?? '',
      Running: s?.status === 'running' || s?.status === 'paused',
      Paused: s?.status === 'paused',
      Restarting: s?.status === 'restarting',
      OOMKilled: s?.oom_killed ?? false,
      Dead: s?.status === 'dead',
      Pid: s?.pid ?? 0,
      ExitCode: s?.exit_code ?? 0,
      Error: s?.error ?? '',
      StartedAt: iso(s?.started_at),
      FinishedAt: iso(s?.finished_at),
    },
    Image: c.image_id,
    ResolvConfPath: c.resolv_conf_path,
    HostnamePath: c.hostname_path,
    HostsPath: c.hosts_path,
    LogPath: c.log_path,
    Name: `/${c.name}`,
    RestartCount: s?.restart_count ?? 0,
    Driver: c.snapshotter,
    HostConfig: {
      Init: h?.init ?? false,
      Privileged: h?.privileged ?? false,
      ReadonlyRootfs: h?.readonly_rootfs ?? false,
      CapAdd: h?.cap_add ?? [],
      CapDrop: h?.cap_drop ?? [],
      Memory: Number(h?.memory ?? 0),
      NanoCpus: Number(h?.nano_cpus ?? 0),
      PidsLimit: Number(h?.pids_limit ?? 0),
      NetworkMode: h?.network_mode ?? '',
      ShmSize: Number(h?.shm_size ?? 0),
      LogConfig: { Type: 'json-file', Config: { 'max-size': String(h?.log_max_size ?? 0), 'max-file': String(h?.log_max_file ?? 0) } },
      AutoRemove: h?.auto_remove ?? false,
      SecurityOpt: h?.security_opt ?? [],
      ...mountsHostConfigView(h),
    },
    Mounts: (c.mounts ?? []).map(mountView),
    Config: {
      Hostname: k?.hostname ?? '',
      Domainname: k?.domainname ?? '',
      User: k?.user ?? '',
      Tty: k?.tty ?? false,
      OpenStdin: k?.open_stdin ?? false,
      StdinOnce: k?.stdin_once ?? false,
      Env: k?.env ?? [],
      Cmd: k?.cmd ?? [],
      Image: k?.image ?? '',
      Volumes: Object.fromEntries((k?.volumes ?? []).map((v) => [v, {}])),
      WorkingDir: k?.working_dir ?? '',
      Entrypoint: k?.entrypoint ?? [],
      Labels: k?.labels ?? {},
      ExposedPorts: Object.fromEntries((k?.exposed_ports ?? []).map((p) => [p, {}])),
      StopSignal: k?.stop_signal ?? '',
      StopTimeout: k?.stop_timeout,
    },
  };
}

/** HostConfig's RestartPolicy, Binds, Mounts, Tmpfs and VolumesFrom (as given at create). */
function mountsHostConfigView(h: engine.HostConfigView | undefined) {
  return {
    RestartPolicy: { Name: h?.restart_policy?.name || 'no', MaximumRetryCount: h?.restart_policy?.maximum_retry_count ?? 0 },
    Binds: h?.binds.length ? h.binds : null,
    Mounts: h?.mounts.length ? h.mounts : null,
    Tmpfs: h?.tmpfs.length ? Object.fromEntries(h.tmpfs.map((t) => [t.split(':')[0], t.slice(t.split(':')[0]!.length + 1)])) : null,
    VolumesFrom: h?.volumes_from.length ? h.volumes_from : null,
  };
}

/** Docker's MountPoint. */
function mountView(m: engine.MountPoint) {
  return {
    Type: m.type,
    ...(m.name ? { Name: m.name } : {}),
    Source: m.source,
    Destination: m.destination,
    ...(m.driver ? { Driver: m.driver } : {}),
    Mode: m.mode,
    RW: m.rw,
    Propagation: m.propagation,
  };
}

interface ImageConfigJson {
  created?: string;
  author?: string;
  architecture?: string;
  os?: string;
  variant?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
  comment?: string;
  history?: Array<{ comment?: string; author?: string }>;
}

export function imageView(d: engine.ImageDetail) {
  const s = d.summary;
  let cfg: ImageConfigJson = {};
  try {
    cfg = JSON.parse(d.config_json.toString('utf8')) as ImageConfigJson;
  } catch {
    /* shown without the config's fields */
  }
  const c = cfg.config ?? {};
  // A commit records its message and author on the step it added (berth's engine), Docker's at the top too.
  const last = cfg.history?.[cfg.history.length - 1];
  return {
    Id: s?.id ?? '',
    RepoTags: s?.repo_tags ?? [],
    RepoDigests: s?.repo_digests ?? [],
    Comment: cfg.comment ?? last?.comment ?? '',
    Created: cfg.created ?? '',
    Author: cfg.author ?? last?.author ?? '',
    Config: {
      User: c.User ?? '',
      Env: c.Env ?? null,
      Cmd: c.Cmd ?? null,
      Entrypoint: c.Entrypoint ?? null,
      WorkingDir: c.WorkingDir ?? '',
      Labels: c.Labels ?? null,
      ExposedPorts: c.ExposedPorts ?? null,
      Volumes: c.Volumes ?? null,
      StopSignal: c.StopSignal,
    },
    Architecture: cfg.architecture ?? '',
    Variant: cfg.variant,
    Os: cfg.os ?? '',
    Size: Number(s?.size ?? 0),
    RootFS: { Type: cfg.rootfs?.type ?? 'layers', Layers: cfg.rootfs?.diff_ids ?? [] },
    Descriptor: { mediaType: d.media_type, digest: d.manifest_digest },
  };
}
