/**
 * `berth pull --all-tags` through the BUILT `berth` binary against a berthd and Debian's
 * docker-registry on loopback: every tag of one repository and nothing of another, Docker's
 * lines, the refusal of a tag or digest, an unknown repository, pages followed through Link
 * headers (a paging proxy: docker-registry 2.8 ignores `n`), and registries that want `berth
 * login`'s credentials (htpasswd basic auth, and a token server's Bearer challenge).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/client';
import { berthCli } from '../helpers/berth-cli';
import { run } from '../helpers/ctr';
import { startInProcess } from '../helpers/daemon';
import { type BuiltImage, writeOciImage } from '../helpers/oci';
import { freePort, pushImage, startRegistry, writeHtpasswd, type Registry } from '../helpers/registry';
import { startRegistryProxy } from '../helpers/registry-proxy';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';
import { pageTagsList, tagsListRequests } from '../helpers/tags-paging';
import { startTokenServer } from '../helpers/token-server';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo', 'htpasswd', 'openssl')];
const itCli = itWith(...NEEDS);
const TAGS = ['1', '2', 'latest'];

describe('berth pull --all-tags (built binary, real registry)', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let reg: Registry;
  let work: string;
  let images: BuiltImage[];
  let berth: ReturnType<typeof berthCli>;
  let n = 0;
  const ns = () => `alltags${++n}`;
  const listed = async (namespace: string, cli = berth) =>
    (await cli(['images', '--format', '{{.Repository}}:{{.Tag}}'], { namespace })).stdout.trim().split('\n').filter(Boolean).sort();

  /**
   * On a registry that wants credentials: `pull -a` is refused (one line, returned), then after
   * `berth login` it pulls every tag of `repo` with the stored credentials.
   */
  const refusedThenPulledAfterLogin = async (r: Registry, repo: string, user: string, password: string, configDir: string): Promise<string> => {
    const cli = berthCli(d.dirs.address, { DOCKER_CONFIG: join(work, configDir) });
    await pushTags(r, repo, `${user}:${password}`);
    const namespace = ns();
    const full = `${r.host}/${repo}`;
    const anon = await cli(['pull', '-a', full], { namespace });
    expect(anon.code).not.toBe(0);
    expect(anon.stderr.trim().split('\n')).toHaveLength(1);
    expect(await cli(['login', '-u', user, '--password-stdin', r.host], { input: `${password}\n` })).toMatchObject({ code: 0 });
    const pulled = await cli(['pull', '-a', '-q', full], { namespace });
    expect(pulled).toMatchObject({ code: 0, stdout: `${full}\n`, stderr: '' });
    expect(await listed(namespace, cli)).toEqual(TAGS.map((t) => `${full}:${t}`));
    return anon.stderr;
  };

  /** Pushes each tag's own image (TAGS[i] gets images[i]) to `repo` on `r`, with `creds` if given. */
  const pushTags = async (r: Registry, repo: string, creds?: string) => {
    for (const [i, tag] of TAGS.entries()) {
      const img = images[i]!;
      const args = ['copy', '--quiet', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : [])];
      const cp = await run('skopeo', [...args, `oci:${img.layoutDir}:${img.refName}`, `docker://${r.host}/${repo}:${tag}`], { timeoutMs: 60_000 });
      if (cp.code !== 0) throw new Error(`skopeo copy: ${cp.stderr}`);
    }
  };

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    d = await startInProcess({ logLevel: 'error' });
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'berth-cli-alltags-'));
    images = [];
    for (const t of [...TAGS, 'other'])
      images.push(
        await writeOciImage(join(work, `layout-${t}`), { name: `alltags/${t}`, layers: [{ entries: [{ path: 'tag', type: 'file', content: `${t}\n` }] }] }),
      );
    await pushTags(reg, 'team/multi');
    await pushImage(reg, images[3]!.layoutDir, images[3]!.refName, 'team/single:9');
    berth = berthCli(d.dirs.address, { DOCKER_CONFIG: join(work, 'docker-config') });
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    await d?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  itCli(
    "pulls exactly the repository's tags, each with Docker's lines, then one Status line and the repository's name",
    async () => {
      const namespace = ns();
      const repo = `${reg.host}/team/multi`;
      const r = await berth(['pull', '--all-tags', repo], { namespace });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).not.toContain('Using default tag: latest');
      for (const [i, tag] of TAGS.entries()) {
        expect(lines).toContain(`${tag}: Pulling from team/multi`);
        expect(lines).toContain(`Digest: ${images[i]!.manifest.digest}`);
      }
      expect(lines.filter((l) => l.startsWith('Status: '))).toEqual([`Status: Downloaded newer image for ${repo}`]);
      expect(lines.at(-1)).toBe(repo);
      expect(await listed(namespace)).toEqual(TAGS.map((t) => `${repo}:${t}`));
      const ids = await berth(['images', '--format', '{{.Tag}} {{.ID}}'], { namespace });
      for (const [i, tag] of TAGS.entries()) expect(ids.stdout).toContain(`${tag} ${images[i]!.config.digest.slice(7, 19)}`);

      const again = await berth(['pull', '-a', repo], { namespace });
      expect(again.code).toBe(0);
      expect(again.stdout.trim().split('\n').slice(-2)).toEqual([`Status: Image is up to date for ${repo}`, repo]);
      const one = await berth(['pull', `${repo}:2`], { namespace });
      expect(one.stdout.trim().split('\n').slice(-2)).toEqual([`Status: Image is up to date for ${repo}:2`, `${repo}:2`]);
      const quiet = await berth(['pull', '-a', '-q', repo], { namespace: ns() });
      expect(quiet).toMatchObject({ code: 0, stdout: `${repo}\n`, stderr: '' });
    },
    180_000,
  );

  itCli(
    "a tag or digest with --all-tags is refused with Docker's message (exit 125); an unknown repository or registry is one line, non-zero, nothing stored",
    async () => {
      const namespace = ns();
      const digest = images[0]!.manifest.digest;
      for (const args of [
        ['pull', '--all-tags', `${reg.host}/team/multi:1`],
        ['pull', '-a', `${reg.host}/team/multi@${digest}`],
      ]) {
        const r = await berth(args, { namespace });
        expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 125, stdout: '' });
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain("tag can't be used with --all-tags/-a");
      }
      const unknown = await berth(['pull', '-a', `${reg.host}/team/nothere`], { namespace });
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
      expect(unknown.stderr).toMatch(
        /^Error response from daemon: list tags of 127\.0\.0\.1:\d+\/team\/nothere: 404 Not Found: repository name not known to registry/,
      );
      const gone = await berth(['pull', '-a', `127.0.0.1:${await freePort()}/team/multi`], { namespace });
      expect(gone.code).not.toBe(0);
      expect(gone.stderr.trim().split('\n')).toHaveLength(1);
      expect(gone.stderr).toMatch(/ECONNREFUSED|connection refused/i);
      expect(await listed(namespace)).toEqual([]);
    },
    180_000,
  );

  itCli(
    "pages: berthd asks the client library's page size and follows each Link; the CLI gets every page's tags",
    async () => {
      const proxy = await startRegistryProxy(reg);
      const client = new Client({ address: d.dirs.address, namespace: ns() });
      try {
        pageTagsList(proxy, 2);
        const listedTags = await client.transfer.listTags(`${proxy.host}/team/multi`, { pageSize: 1 });
        expect(listedTags).toEqual({ name: `${proxy.host}/team/multi`, tags: TAGS });
        expect(tagsListRequests(proxy)).toEqual([
          '/v2/team/multi/tags/list?n=1',
          '/v2/team/multi/tags/list?n=1&last=1&page=2',
          '/v2/team/multi/tags/list?n=1&last=2&page=3',
        ]);
        await expect(client.transfer.listTags(`${proxy.host}/team/multi:1`)).rejects.toMatchObject({ kind: 'InvalidArgument' });

        proxy.log.length = 0;
        const namespace = ns();
        const r = await berth(['pull', '-a', '-q', `${proxy.host}/team/multi`], { namespace });
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(tagsListRequests(proxy)).toEqual(['/v2/team/multi/tags/list', '/v2/team/multi/tags/list?n=2&last=2&page=2']);
        expect(await listed(namespace)).toEqual(TAGS.map((t) => `${proxy.host}/team/multi:${t}`));

        // A repository whose tags were all deleted lists none: one line, nothing pulled.
        proxy.onRequest = ({ path }) => (/tags\/list/.test(path) ? { reply: { status: 200, body: '{"name":"team/multi","tags":null}' } } : undefined);
        const none = await berth(['pull', '-a', `${proxy.host}/team/multi`], { namespace: ns() });
        expect(none).toMatchObject({ code: 1, stdout: '', stderr: `Error: repository ${proxy.host}/team/multi has no tags\n` });
      } finally {
        client.close();
        await proxy.stop();
      }
    },
    180_000,
  );

  itCli(
    'a basic-auth registry: refused before `berth login`, every tag after it with the stored credentials',
    async () => {
      const htpasswd = join(work, 'htpasswd');
      await writeHtpasswd(htpasswd, { erin: 'b4sic' });
      const authReg = await startRegistry({ auth: { htpasswd } });
      try {
        const refusal = await refusedThenPulledAfterLogin(authReg, 'team/locked', 'erin', 'b4sic', 'docker-config-basic');
        expect(refusal).toMatch(/requires basic authentication and no username\/password was found/);
      } finally {
        await authReg.stop();
      }
    },
    180_000,
  );

  itCli(
    "a token registry: the tag list is fetched with a pull token got with `berth login`'s credentials",
    async () => {
      const ts = await startTokenServer({ users: { frank: 'b3arer' } });
      const tokenReg = await startRegistry({ auth: { token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.certPath } } });
      try {
        ts.requests.length = 0;
        await refusedThenPulledAfterLogin(tokenReg, 'team/tokened', 'frank', 'b3arer', 'docker-config-token');
        // Anonymous first (refused), then every token with login's credentials: the tag list's and the pulls'.
        const tokens = ts.requests.filter((q) => q.scopes.includes('repository:team/tokened:pull')).map((q) => `${q.user}:${q.status}`);
        expect(tokens[0]).toBe('undefined:401');
        expect(tokens.length).toBeGreaterThan(1);
        expect(new Set(tokens.slice(1))).toEqual(new Set(['frank:200']));
      } finally {
        await tokenReg.stop();
        await ts.stop();
      }
    },
    180_000,
  );
});
