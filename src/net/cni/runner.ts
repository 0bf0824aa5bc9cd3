/**
 * Runs CNI plugins as the spec says (libcni's AddNetworkList/CheckNetworkList/DelNetworkList):
 * each plugin of a list gets the list's name and cniVersion, the previous plugin's result as
 * prevResult, and the runtime config its capabilities ask for; ADD goes forward, DEL backwards
 * with the cached result. Unlike libcni, a failed ADD is undone before the error is returned (a
 * caller cannot leak half an attachment), and a DEL runs every plugin even when one fails (and
 * keeps the cache entry then, so that the DEL can be retried).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, internal, invalidArgument } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { nullLogger } from '../../core/logger';
import { Limiter } from '../../core/limiter';
import { runTool, TOOL_PATH, type ToolRunner } from '../exec';
import { Iptables, sweepMasquerade } from '../iptables';
import { ResultCache, type CacheEntry } from './cache';
import { versionAtLeast } from './conflist';
import { pluginFailure } from './errors';
import { NativeBridge, nativeBridgeConf, type NativeBridgeConf } from './native-bridge';
import { CNI_ID, IFNAME, type CniCommand, type CniResult, type NetConfList, type PluginConf, type RuntimeConf } from './types';

export interface CniRunnerOptions {
  /** Where plugin binaries are looked up, in order (CNI_PATH). */
  pluginDirs: readonly string[];
  /** The result cache's directory (berthd: <state>/network/cni). */
  cacheDir: string;
  /** Per plugin invocation (default 30 s). */
  timeoutMs?: number;
  /** Plugins running at once (default 4). */
  maxConcurrent?: number;
  /** Runs the plugins (default runTool). */
  run?: ToolRunner;
  /**
   * native/build/berth-veth: berthd's own lists are then attached without the plugins
   * (native-bridge.ts). Without it every list goes to the plugins.
   */
  veth?: string;
  log?: Logger;
}

/** Debian's containernetworking-plugins, then the upstream default. */
export const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

const ARG_PART = /^[^;=\s]+$/;

export class CniRunner {
  readonly cache: ResultCache;
  private readonly limiter: Limiter;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly native?: NativeBridge;

  constructor(private readonly o: CniRunnerOptions) {
    this.cache = new ResultCache(o.cacheDir);
    this.limiter = new Limiter(o.maxConcurrent ?? 4);
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.log = o.log ?? nullLogger;
    if (o.veth) this.native = new NativeBridge({ veth: o.veth, run: o.run ?? runTool, timeoutMs: this.timeoutMs });
  }

  /** The native path for a list and its args, when it takes them. */
  private nativeFor(list: NetConfList, args: RuntimeConf['args']): { bridge: NativeBridge; conf: NativeBridgeConf } | undefined {
    const conf = this.native && nativeBridgeConf(list, args);
    return this.native && conf ? { bridge: this.native, conf } : undefined;
  }

  /** ADD: every plugin in order; the last result is cached and returned. A failure undoes what was done. */
  async add(list: NetConfList, rt: RuntimeConf): Promise<CniResult> {
    checkRuntime(list, rt);
    const entry = this.cache.begin(list, rt);
    await this.cache.write(entry);
    let result: CniResult | undefined;
    const native = this.nativeFor(list, rt.args);
    try {
      if (native) {
        const started = Date.now();
        result = await this.limiter.run(() => native.bridge.add(native.conf, rt));
        this.log.debug('cni: bridge attached without the plugins', { network: list.name, container: rt.containerId, ms: Date.now() - started });
      } else
        for (const p of list.plugins) {
          const out = await this.exec('ADD', list, p, rt, result);
          result = parseResult(out, list.name, p.type);
        }
    } catch (e) {
      entry.result = result;
      await this.cache.write(entry).catch(() => undefined);
      await this.delEntry(entry, rt.netns).catch((d) =>
        this.log.warn('cni: undoing a failed ADD failed too', { network: list.name, container: rt.containerId, err: d as Error }),
      );
      throw e;
    }
    entry.state = 'added';
    entry.result = result;
    await this.cache.write(entry);
    return result!;
  }

  /** CHECK (0.4.0+, unless the list disables it): every plugin with the cached result. */
  async check(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName' | 'netns'>): Promise<void> {
    const entry = await this.cache.read(network, rt.containerId, rt.ifName);
    if (!entry || entry.state !== 'added') throw failedPrecondition(`network ${network}: container ${rt.containerId} ${rt.ifName} was never added`);
    const list = entry.config;
    if (!versionAtLeast(list.cniVersion, '0.4.0')) throw failedPrecondition(`network ${network}: cniVersion ${list.cniVersion} has no CHECK`);
    if (list.disableCheck) return;
    const full = { ...rtOf(entry), netns: rt.netns };
    for (const p of list.plugins) await this.exec('CHECK', list, p, full, entry.result);
  }

  /**
   * DEL of an attachment by its cache entry (the config and runtime args of its ADD, whatever
   * the network's config is now). Without an entry, `fallback` (a list) is deleted without a
   * prevResult, as libcni does. `netns` is the namespace now ('' when it is gone).
   */
  async del(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName' | 'netns'>, fallback?: NetConfList): Promise<void> {
    const entry = await this.cache.read(network, rt.containerId, rt.ifName);
    if (entry) return this.delEntry(entry, rt.netns);
    if (!fallback) return; // nothing was added, or it is gone already: DEL is idempotent
    await this.delEntry(this.cache.begin(fallback, { ...rt }), rt.netns);
  }

  /** Deletes veths' host ends (bridge ports) at once, with berth-veth; undefined without it (the kernel takes them down with their namespace). */
  deleteBridgePorts(names: readonly string[]): Promise<void> | undefined {
    return this.native && names.length ? this.native.deletePorts(names) : undefined;
  }

  /** Cached attachments (after a restart: what may need a DEL); only one container's when given. */
  async attachments(containerId?: string): Promise<CacheEntry[]> {
    const { entries, broken } = await this.cache.list(containerId);
    for (const b of broken) this.log.error('cni: unreadable cache entry (left in place)', { path: b.path, err: b.error });
    return entries;
  }

  private async delEntry(entry: CacheEntry, netns: string): Promise<void> {
    const list = entry.config;
    const rt = { ...rtOf(entry), netns };
    const native = this.nativeFor(list, rt.args);
    if (native) {
      await this.limiter.run(() => native.bridge.del(native.conf, rt, netns));
      await this.cache.remove(entry.networkName, entry.containerId, entry.ifName);
      return;
    }
    const prev = versionAtLeast(list.cniVersion, '0.4.0') ? entry.result : undefined;
    let first: unknown;
    for (const p of [...list.plugins].reverse()) {
      try {
        await this.exec('DEL', list, p, rt, prev);
      } catch (e) {
        first ??= e;
        this.log.warn('cni: DEL failed', { network: list.name, plugin: p.type, container: rt.containerId, err: e as Error });
      }
    }
    if (first) throw first;
    if (list.plugins.some((p) => p.type === 'bridge' && p.ipMasq === true)) {
      const n = await sweepMasquerade(new Iptables(), list.name, entry.containerId);
      if (n) this.log.info('cni: removed masquerade rules the bridge plugin left', { network: list.name, container: entry.containerId, rules: n });
    }
    await this.cache.remove(entry.networkName, entry.containerId, entry.ifName);
  }

  private async findPlugin(type: string): Promise<string> {
    for (const d of this.o.pluginDirs) {
      const p = join(d, type);
      try {
        await access(p, constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
    throw failedPrecondition(`CNI plugin ${type} not found in ${this.o.pluginDirs.join(':')} (Debian: apt-get install containernetworking-plugins)`);
  }

  private async exec(cmd: CniCommand, list: NetConfList, p: PluginConf, rt: RuntimeConf, prev: CniResult | undefined): Promise<string> {
    const file = await this.findPlugin(p.type);
    const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion };
    if (prev) conf.prevResult = prev;
    const rc: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(p.capabilities ?? {})) if (on && rt.capabilityArgs && cap in rt.capabilityArgs) rc[cap] = rt.capabilityArgs[cap];
    if (Object.keys(rc).length) conf.runtimeConfig = rc;
    const env: Record<string, string> = {
      PATH: TOOL_PATH,
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: rt.ifName,
      CNI_ARGS: (rt.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_PATH: this.o.pluginDirs.join(':'),
    };
    const started = Date.now();
    const tool = this.o.run ?? runTool;
    const run = await this.limiter.run(() => tool(file, [], { env, input: JSON.stringify(conf), timeoutMs: this.timeoutMs }));
    this.log.debug('cni: plugin ran', { cmd, plugin: p.type, network: list.name, container: rt.containerId, ms: Date.now() - started, code: run.code });
    if (run.code !== 0) throw pluginFailure(list.name, p.type, cmd, run);
    return run.stdout;
  }
}

function rtOf(e: CacheEntry): RuntimeConf {
  return { containerId: e.containerId, ifName: e.ifName, netns: e.netns, args: e.cniArgs, capabilityArgs: e.capabilityArgs };
}

function checkRuntime(list: NetConfList, rt: RuntimeConf): void {
  if (!CNI_ID.test(rt.containerId)) throw invalidArgument(`CNI container id ${JSON.stringify(rt.containerId)}: letters, digits, _ . - (at most 128)`);
  if (!IFNAME.test(rt.ifName) || rt.ifName === '.' || rt.ifName === '..') throw invalidArgument(`interface name ${JSON.stringify(rt.ifName)} is not valid`);
  for (const [k, v] of rt.args ?? []) if (!ARG_PART.test(k) || !ARG_PART.test(v)) throw invalidArgument(`CNI_ARGS ${k}=${v}: no ';', '=' or spaces`);
  if (!CNI_ID.test(list.name)) throw invalidArgument(`CNI network name ${JSON.stringify(list.name)} is not valid`);
}

function parseResult(stdout: string, network: string, type: string): CniResult {
  try {
    const v = JSON.parse(stdout) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as CniResult;
  } catch {
    /* below */
  }
  throw internal(`network ${network}: CNI plugin ${type} ADD printed no result (${JSON.stringify(stdout.slice(0, 200))})`);
}
