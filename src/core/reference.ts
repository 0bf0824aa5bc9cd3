import { invalidArgument } from './errors';

/**
 * Image references as Docker and containerd read them (distribution's `reference` grammar and
 * its normalisation): `busybox` is `docker.io/library/busybox:latest`, `user/app` is
 * `docker.io/user/app`, a first component with a `.` or `:` or equal to `localhost` (or with
 * capitals) is a registry host, `index.docker.io` is `docker.io`.
 *
 *   reference  := name [":" tag] ["@" digest]
 *   name       := [domain "/"] path-component ("/" path-component)*     (≤ 255 characters)
 *   domain     := host [":" port]  with host a DNS name, an IPv4 address or "[" IPv6 "]"
 *   path-component := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex   (algorithm components [A-Za-z][A-Za-z0-9]* joined by [+._-]; hex ≥ 32)
 */
export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN_RE = new RegExp(`^${HOST}(?::[0-9]+)?$`);
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

export interface Reference {
  /** Registry host as written in the name (`docker.io`, `localhost:5000`, `[::1]:5000`). */
  readonly domain: string;
  /** Repository path within the registry (`library/busybox`). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A tag as the grammar allows it (`[\w][\w.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** `docker.io/library/busybox`. */
export function repositoryName(r: Pick<Reference, 'domain' | 'path'>): string {
  return `${r.domain}/${r.path}`;
}

/** The full reference: `docker.io/library/busybox:latest`, `…@sha256:…`, or both. */
export function formatReference(r: Reference): string {
  return `${repositoryName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** What a Docker user reads: `busybox:latest`, `user/app:1`, `localhost:5000/x:y`. */
export function familiarName(r: Reference): string {
  let name = repositoryName(r);
  if (r.domain === DEFAULT_DOMAIN)
    name = r.path.startsWith(OFFICIAL_REPO_PREFIX) && r.path.split('/').length === 2 ? r.path.slice(OFFICIAL_REPO_PREFIX.length) : r.path;
  return `${name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The object a registry is asked for: the digest when there is one, else the tag. */
export function referenceObject(r: Reference): string {
  return r.digest ?? r.tag ?? 'latest';
}

function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  const first = i < 0 ? '' : name.slice(0, i);
  let domain: string;
  let rest: string;
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first && !first.startsWith('['))) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

export interface ParseOptions {
  /** Add `latest` when neither a tag nor a digest is given (default true, as Docker and ctr do). */
  defaultTag?: boolean;
}

/** Parses and normalises a reference; InvalidArgument with the reason for anything malformed. */
export function parseReference(input: string, opts: ParseOptions = {}): Reference {
  const bad = (why: string) => invalidArgument(`reference ${JSON.stringify(input.slice(0, 300))}: ${why}`);
  if (typeof input !== 'string' || input === '') throw bad('must not be empty');
  if (/\s/.test(input)) throw bad('invalid reference format: contains whitespace');
  if (IDENTIFIER_RE.test(input)) throw bad('invalid repository name, cannot specify 64-byte hexadecimal strings');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw bad(`invalid digest ${JSON.stringify(digest.slice(0, 140))}`);
    const alg = digest.slice(0, digest.indexOf(':'));
    const hex = digest.slice(alg.length + 1);
    if ((alg === 'sha256' && hex.length !== 64) || (alg === 'sha512' && hex.length !== 128))
      throw bad(`invalid digest ${JSON.stringify(digest)}: wrong length for ${alg}`);
  }
  // A tag is after the last ':' that follows the last '/' (a ':' before it belongs to a port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && !rest.slice(colon).includes(']')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag.slice(0, 140))}`);
  }
  if (!rest) throw bad('invalid reference format: repository name must not be empty');
  const [domain, path] = splitDomain(rest);
  if (!DOMAIN_RE.test(domain)) throw bad(`invalid registry host ${JSON.stringify(domain)}`);
  if (path.toLowerCase() !== path) throw bad(`invalid reference format: repository name (${path}) must be lowercase`);
  if (!PATH_RE.test(path)) throw bad(`invalid reference format: repository name ${JSON.stringify(path)} does not match the grammar`);
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) throw bad(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (!tag && !digest && opts.defaultTag !== false) tag = 'latest';
  return { domain, path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The same repository with another tag or digest (for push targets and resolved pulls). */
export function withObject(r: Reference, obj: { tag?: string; digest?: string }): Reference {
  return { domain: r.domain, path: r.path, ...(obj.tag ? { tag: obj.tag } : {}), ...(obj.digest ? { digest: obj.digest } : {}) };
}
