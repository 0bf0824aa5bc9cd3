/**
 * The compiled seccomp filter of each distinct `linux.seccomp` a container spec carries, by the
 * profile's JSON: Tasks/Create of a profile seen before costs a JSON.stringify (~30 µs for
 * containerd's) instead of re-reading the profile and rebuilding the compiler's input (~0.3 ms).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SeccompCompiler, SeccompFilter } from './helper/seccomp-compiler';
import { parseSpec, toSeccompRequest, type OciSeccomp } from './spec';
import { parseSpecJson } from './warm-specs';

const MAX = 32;
const key = (sc: OciSeccomp): string => JSON.stringify(sc, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

export class SeccompFilters {
  /** null: the profile asks for no filter. */
  private readonly done = new Map<string, SeccompFilter | null>();

  constructor(private readonly compiler: SeccompCompiler) {}

  private remember(k: string, f: SeccompFilter | null): SeccompFilter | null {
    this.done.set(k, f);
    for (const old of this.done.keys()) if (this.done.size > MAX) this.done.delete(old);
    return f;
  }

  /** The filter for this profile (null: none). A malformed profile is refused (InvalidArgument) before anything starts. */
  async forProfile(sc: OciSeccomp | undefined, where: string): Promise<SeccompFilter | null> {
    if (!sc) return null;
    const k = key(sc);
    const hit = this.done.get(k);
    if (hit !== undefined) return hit;
    const req = toSeccompRequest(sc, where);
    return this.remember(k, req ? await this.compiler.compile(req) : null);
  }

  /** The filter if it is compiled already; otherwise undefined, and its compile is started. */
  ifReady(sc: OciSeccomp | undefined, where: string): SeccompFilter | null | undefined {
    if (!sc) return null;
    const hit = this.done.get(key(sc));
    if (hit === undefined) void this.forProfile(sc, where).catch(() => undefined); // Tasks/Create reports what failed
    return hit;
  }

  /** The filter of the container whose bundle (bundle.ts: config.json) this is. */
  async forBundle(bundle: string, id: string): Promise<SeccompFilter | null> {
    const spec = parseSpec(parseSpecJson(await readFile(join(bundle, 'config.json'), 'utf8'), id), id);
    return this.forProfile(spec.linux?.seccomp, `spec for ${id}: linux.seccomp`);
  }
}
