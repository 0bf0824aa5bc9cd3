/**
 * The flags `run` and `create` share, and the Engine/Create request they make. What the client
 * must do itself is done here, as Docker's CLI does it: `--env-file` and a seccomp profile file
 * are read on this side, `-e NAME` takes NAME's value from this environment. berthd checks the
 * rest (sizes, networks, mounts, restart policies) before anything is created.
 *
 * Features with flags of their own (networking's -p/--dns/...) add an option group: a file
 * exporting `defineOptionGroup({ flags, apply })` and its line in OPTION_GROUPS below; its
 * flags join run's and create's, and apply() fills its part of the request.
 */
import { readFileSync } from 'node:fs';
import type { DeepPartial, engine } from '../../../client';
import type { Flags, FlagSpecs } from '../../args';
import { CliError } from '../../command';
import { NETWORK_OPTIONS } from '../network/run-options';

export interface OptionGroup<F extends FlagSpecs = FlagSpecs> {
  flags: F;
  apply(flags: Flags<F>, request: DeepPartial<engine.CreateRequest> & { host_config: DeepPartial<engine.HostConfig> }): void;
}

export function defineOptionGroup<F extends FlagSpecs>(g: OptionGroup<F>): OptionGroup<F> {
  return g;
}

/** Extra option groups (one line each). */
const OPTION_GROUPS: readonly OptionGroup[] = [NETWORK_OPTIONS];

const CORE_FLAGS = {
  attach: { type: 'strings', short: 'a', desc: 'Attach to STDIN, STDOUT or STDERR', placeholder: 'list' },
  capAdd: { type: 'strings', desc: 'Add Linux capabilities', placeholder: 'list' },
  capDrop: { type: 'strings', desc: 'Drop Linux capabilities', placeholder: 'list' },
  cpus: { type: 'string', desc: 'Number of CPUs', placeholder: 'decimal' },
  domainname: { type: 'string', desc: 'Container NIS domain name', placeholder: 'string' },
  entrypoint: { type: 'string', desc: 'Overwrite the default ENTRYPOINT of the image', placeholder: 'string' },
  env: { type: 'strings', short: 'e', desc: 'Set environment variables', placeholder: 'list' },
  envFile: { type: 'strings', desc: 'Read in a file of environment variables', placeholder: 'list' },
  expose: { type: 'strings', desc: 'Expose a port or a range of ports', placeholder: 'list' },
  hostname: { type: 'string', short: 'h', desc: 'Container host name', placeholder: 'string' },
  init: { type: 'bool', desc: 'Run an init inside the container that forwards signals and reaps processes' },
  interactive: { type: 'bool', short: 'i', desc: 'Keep STDIN open even if not attached' },
  label: { type: 'strings', short: 'l', desc: 'Set meta data on a container', placeholder: 'list' },
  logOpt: { type: 'strings', desc: 'Log driver options (json-file: max-size, max-file)', placeholder: 'list' },
  memory: { type: 'string', short: 'm', desc: 'Memory limit', placeholder: 'bytes' },
  name: { type: 'string', desc: 'Assign a name to the container', placeholder: 'string' },
  mount: { type: 'strings', desc: 'Attach a filesystem mount to the container', placeholder: 'mount' },
  tmpfs: { type: 'strings', desc: 'Mount a tmpfs directory', placeholder: 'list' },
  volumesFrom: { type: 'strings', desc: 'Mount volumes from the specified container(s)', placeholder: 'list' },
  pidsLimit: { type: 'int', desc: 'Tune container pids limit (set -1 for unlimited)', placeholder: 'int' },
  privileged: { type: 'bool', desc: 'Give extended privileges to this container' },
  pull: { type: 'string', desc: 'Pull image before running ("missing", "never")', placeholder: 'string', defaultText: '"missing"' },
  readOnly: { type: 'bool', desc: "Mount the container's root filesystem as read only" },
  restart: {
    type: 'string',
    desc: 'Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)',
    placeholder: 'string',
    defaultText: '"no"',
  },
  rm: { type: 'bool', desc: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  securityOpt: { type: 'strings', desc: 'Security Options (seccomp=unconfined|PROFILE.json, no-new-privileges)', placeholder: 'list' },
  shmSize: { type: 'string', desc: 'Size of /dev/shm', placeholder: 'bytes' },
  stopSignal: { type: 'string', desc: 'Signal to stop the container', placeholder: 'string' },
  stopTimeout: { type: 'int', desc: 'Timeout (in seconds) to stop a container', placeholder: 'int' },
  tty: { type: 'bool', short: 't', desc: 'Allocate a pseudo-TTY' },
  user: { type: 'string', short: 'u', desc: 'Username or UID (format: <name|uid>[:<group|gid>])', placeholder: 'string' },
  volume: { type: 'strings', short: 'v', desc: 'Bind mount a volume', placeholder: 'list' },
  workdir: { type: 'string', short: 'w', desc: 'Working directory inside the container', placeholder: 'string' },
} as const satisfies FlagSpecs;

export const CREATE_FLAGS: typeof CORE_FLAGS = Object.assign({}, CORE_FLAGS, ...OPTION_GROUPS.map((g) => g.flags));

export type CreateFlags = Flags<typeof CORE_FLAGS>;

/** `-e NAME=value`, or `-e NAME`: NAME's value here, left out when NAME is unset. */
export function envEntry(e: string): string | undefined {
  if (e.includes('=')) return e;
  const v = process.env[e];
  return v === undefined ? undefined : `${e}=${v}`;
}

/** Docker's env file: KEY=VALUE lines (taken as they are), bare KEYs from this environment, # comments. */
export function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, 125);
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) return;
    const key = line.split('=', 1)[0]!;
    if (!key || /\s/.test(key)) throw new CliError(`${path}:${i + 1}: variable '${key}' contains whitespaces`, 125);
    const e = envEntry(line);
    if (e !== undefined) out.push(e);
  });
  return out;
}

/** `--security-opt seccomp=FILE` becomes the file's JSON, as Docker's CLI sends it. */
function securityOpts(opts: readonly string[]): string[] {
  return opts.map((o) => {
    const m = /^seccomp[=:](.*)$/s.exec(o);
    if (!m || m[1] === 'unconfined' || m[1]!.trimStart().startsWith('{')) return o;
    try {
      return `seccomp=${readFileSync(m[1]!, 'utf8')}`;
    } catch (e) {
      throw new CliError(`opening seccomp profile (${m[1]}) failed: ${(e as Error).message}`, 125);
    }
  });
}

function keyValues(list: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    if (what === 'log-opt' && i <= 0) throw new CliError(`invalid --log-opt ${JSON.stringify(l)}: expected key=value`, 125);
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

export interface CreateIntent {
  /** The streams `-a` names (lower case), or those run attaches by default. */
  attach: Set<'stdin' | 'stdout' | 'stderr'>;
  request: DeepPartial<engine.CreateRequest>;
}

/** `--env-file`s then `-e`s, as the process will see them. */
export function envList(files: readonly string[], env: readonly string[]): string[] {
  return [...files.flatMap(readEnvFile), ...env.map(envEntry).filter((e): e is string => e !== undefined)];
}

/** The Engine/Create request for `image [cmd...]` with these flags. `detached`: run -d or create. */
export function createRequest(f: CreateFlags, image: string, cmd: string[], mode: { run: boolean; detached: boolean }): CreateIntent {
  const attach = new Set<'stdin' | 'stdout' | 'stderr'>();
  for (const a of f.attach) {
    const s = a.toLowerCase();
    if (s !== 'stdin' && s !== 'stdout' && s !== 'stderr')
      throw new CliError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`, 125);
    attach.add(s);
  }
  if (mode.detached && attach.size) throw new CliError('conflicting options: cannot specify both --attach and --detach', 125);
  if (!mode.detached && mode.run && !attach.size) {
    attach.add('stdout').add('stderr');
    if (f.interactive) attach.add('stdin');
  }
  const env = envList(f.envFile, f.env);
  const host_config = {
    init: f.init,
    privileged: f.privileged,
    readonly_rootfs: f.readOnly,
    cap_add: f.capAdd,
    cap_drop: f.capDrop,
    memory: f.memory ?? '',
    cpus: f.cpus ?? '',
    pids_limit: String(f.pidsLimit ?? 0),
    shm_size: f.shmSize ?? '',
    log_opts: keyValues(f.logOpt, 'log-opt'),
    auto_remove: f.rm,
    security_opt: securityOpts(f.securityOpt),
    restart: f.restart ?? '',
    volumes: f.volume,
    mounts: f.mount,
    tmpfs: f.tmpfs,
    volumes_from: f.volumesFrom,
  };
  const request = {
    name: f.name ?? '',
    image,
    cmd,
    entrypoint: f.entrypoint === undefined || f.entrypoint === '' ? [] : [f.entrypoint],
    entrypoint_set: f.entrypoint !== undefined,
    env,
    user: f.user ?? '',
    working_dir: f.workdir ?? '',
    hostname: f.hostname ?? '',
    domainname: f.domainname ?? '',
    labels: keyValues(f.label, 'label'),
    tty: f.tty,
    open_stdin: f.interactive,
    // Docker closes stdin when the attached client's input ends (run -i, create -a stdin).
    stdin_once: f.interactive && attach.has('stdin'),
    exposed_ports: f.expose,
    stop_signal: f.stopSignal ?? '',
    stop_timeout: f.stopTimeout,
    host_config,
  };
  for (const g of OPTION_GROUPS) g.apply(f as Flags<FlagSpecs>, request);
  return { attach, request };
}
