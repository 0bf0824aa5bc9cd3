/**
 * Images as Docker shows them, on containerd's image records: one image per id (its config
 * digest) with every record that names it as a tag, its size in content, and Docker's `rmi`
 * (untag a name; delete the image with its last name; refuse while a container uses it). The
 * records' targets stay containerd's (ctr sees the same images); blobs go with the GC.
 */
import type { Ctx } from '../core/context';
import { conflict, invalidArgument, isNotFound } from '../core/errors';
import type { Image } from '../images';
import type { EngineDeps } from './deps';
import { familiarName, ImageResolver, normalizeReference, type ImageConfigJson } from './image';
import type { EngineRecord } from './record';
import type { ImageDetail, ImageSummary, RemoveImageResult } from './types';

interface Resolved {
  record: Image;
  id: string;
  size: number;
  config?: ImageConfigJson;
  configBytes?: Buffer;
  manifestDigest: string;
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const isDigestName = (n: string) => /^sha256:[0-9a-f]{64}$/.test(n);

export class EngineImages {
  private readonly resolver: ImageResolver;

  constructor(private readonly d: EngineDeps) {
    this.resolver = new ImageResolver(d.images, d.content);
  }

  private async resolveRecord(ctx: Ctx, record: Image): Promise<Resolved | undefined> {
    try {
      const { manifest, desc } = await this.resolver.manifestOf(ctx, record.target);
      const bytes = await this.readBlob(ctx, manifest.config.digest);
      const size =
        (desc.digest !== record.target.digest ? record.target.size : 0) + desc.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
      return {
        record,
        id: manifest.config.digest,
        size,
        configBytes: bytes,
        config: JSON.parse(bytes.toString('utf8')) as ImageConfigJson,
        manifestDigest: desc.digest,
      };
    } catch (e) {
      // A record whose blobs are not (all) here, e.g. a pull that failed half-way: listed by name only.
      ctx.log.debug('image not readable', { name: record.name, err: (e as Error).message });
      return undefined;
    }
  }

  private async readBlob(ctx: Ctx, digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of this.d.content.read(ctx, digest)) {
      n += c.length;
      if (n > 8 << 20) throw invalidArgument(`image config ${digest}: larger than 8 MiB`);
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  private async all(ctx: Ctx): Promise<Map<string, Resolved[]>> {
    const byId = new Map<string, Resolved[]>();
    const resolved = await Promise.all((await this.d.images.list(ctx)).map((r) => this.resolveRecord(ctx, r)));
    for (const r of resolved) if (r) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    return byId;
  }

  private summary(id: string, rs: Resolved[], users: EngineRecord[]): ImageSummary {
    const names = rs.map((r) => r.record.name).filter((n) => !isDigestName(n));
    const first = rs[0]!;
    const created = first.config?.created ? new Date(first.config.created) : undefined;
    return {
      id,
      repoTags: names
        .filter((n) => !n.includes('@'))
        .map(familiarName)
        .sort(),
      repoDigests: [...new Set(names.map((n) => `${familiarName(n).replace(/[:@].*$/, '')}@${first.record.target.digest}`))].sort(),
      created: created && !Number.isNaN(created.getTime()) ? created : undefined,
      size: first.size,
      labels: { ...(first.config?.config?.Labels ?? {}) },
      containers: users.filter((u) => u.imageId === id).length,
    };
  }

  /** `docker images`; filters: reference (glob on the familiar name), dangling, label, before, since. */
  async list(ctx: Ctx, filters: Record<string, string[]> = {}): Promise<ImageSummary[]> {
    for (const k of Object.keys(filters))
      if (!['reference', 'dangling', 'label', 'before', 'since'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    const [byId, users] = await Promise.all([this.all(ctx), this.d.records.list(ctx)]);
    let out = [...byId].map(([id, rs]) => this.summary(id, rs, users));
    const createdOf = async (ref: string) => (await this.find(ctx, ref, byId)).summary.created?.getTime() ?? 0;
    for (const v of filters.before ?? []) {
      const t = await createdOf(v);
      out = out.filter((s) => (s.created?.getTime() ?? 0) < t);
    }
    for (const v of filters.since ?? []) {
      const t = await createdOf(v);
      out = out.filter((s) => (s.created?.getTime() ?? 0) > t);
    }
    out = out.filter((s) => matches(s, filters));
    return out.sort((a, b) => (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0) || a.id.localeCompare(b.id));
  }

  private async find(ctx: Ctx, ref: string, byId?: Map<string, Resolved[]>): Promise<{ summary: ImageSummary; rs: Resolved[]; byName?: Image }> {
    const record = await this.resolver.record(ctx, ref);
    const r = await this.resolveRecord(ctx, record);
    const all = byId ?? (await this.all(ctx));
    if (!r) return { summary: { id: '', repoTags: [familiarName(record.name)], repoDigests: [], size: 0, labels: {}, containers: 0 }, rs: [], byName: record };
    const rs = all.get(r.id) ?? [r];
    const named = record.name === ref || safeNormalize(ref) === record.name;
    return { summary: this.summary(r.id, rs, await this.d.records.list(ctx)), rs, byName: named ? record : undefined };
  }

  async inspect(ctx: Ctx, ref: string): Promise<ImageDetail> {
    const { summary, rs } = await this.find(ctx, ref);
    const r = rs[0];
    return { summary, configJson: r?.configBytes ?? Buffer.alloc(0), manifestDigest: r?.manifestDigest ?? '', mediaType: r?.record.target.mediaType ?? '' };
  }

  /**
   * Docker's rmi. By name: that name goes; the image goes with its last name. By id: every name
   * goes, which needs force when there are several. A container made from the image keeps it
   * (force removes it anyway while that container is stopped, never while it runs).
   */
  async remove(ctx: Ctx, ref: string, force = false): Promise<RemoveImageResult> {
    const { summary, rs, byName } = await this.find(ctx, ref);
    if (!summary.id) {
      await this.d.images.delete(ctx, byName!.name);
      return { untagged: [familiarName(byName!.name)], deleted: [] };
    }
    const names = rs.map((r) => r.record.name);
    const tagged = names.filter((n) => !isDigestName(n));
    if (byName && tagged.length > 1) {
      await this.d.images.delete(ctx, byName.name);
      return { untagged: [familiarName(byName.name)], deleted: [] };
    }
    if (!byName && tagged.length > 1 && !force)
      throw conflict(`conflict: unable to delete ${shortId(summary.id)} (must be forced) - image is referenced in multiple repositories`);
    const users = (await this.d.records.list(ctx)).filter((u) => u.imageId === summary.id);
    const running = users.find((u) => u.state.status === 'running' || u.state.status === 'paused' || u.state.status === 'restarting');
    if (running)
      throw conflict(`conflict: unable to delete ${shortId(summary.id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`);
    if (users[0] && !force) {
      const what = byName ? `remove repository reference "${ref}"` : `delete ${shortId(summary.id)}`;
      throw conflict(`conflict: unable to ${what} (must force) - container ${shortId(users[0].id)} is using its referenced image ${shortId(summary.id)}`);
    }
    const untagged: string[] = [];
    for (const n of names) {
      await this.d.images.delete(ctx, n).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      if (!isDigestName(n)) untagged.push(familiarName(n));
    }
    return { untagged, deleted: [summary.id] };
  }
}

function safeNormalize(ref: string): string | undefined {
  try {
    return normalizeReference(ref);
  } catch {
    return undefined;
  }
}

/** Docker's reference filter: a glob (`*` within a path segment) on the familiar name, with or without the tag. */
function referenceMatches(pattern: string, tags: string[]): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  return tags.some((t) => re.test(t) || re.test(t.replace(/:[^:/]*$/, '')));
}

function matches(s: ImageSummary, f: Record<string, string[]>): boolean {
  const any = (k: string, test: (v: string) => boolean) => !f[k]?.length || f[k]!.some(test);
  return (
    any('reference', (v) => referenceMatches(v, s.repoTags)) &&
    any('dangling', (v) => {
      if (v !== 'true' && v !== 'false') throw invalidArgument(`invalid filter 'dangling=${v}'`);
      return (s.repoTags.length === 0) === (v === 'true');
    }) &&
    any('label', (v) => {
      const [k, val] = v.split(/=(.*)/s, 2) as [string, string | undefined];
      return val === undefined ? k in s.labels : s.labels[k] === val;
    })
  );
}
