/**
 * Listing a repository's tags (GET /v2/<name>/tags/list) against Debian's docker-registry: every
 * tag, pages followed through their Link headers (a paging proxy in front of the registry, which
 * itself ignores `n`), basic auth, and the failures: unknown repository, a Link off the registry,
 * a page that repeats, a tag outside the grammar, a registry that is not there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, staticCredentials } from '../../src/remotes';
import { run } from '../helpers/ctr';
import { type BuiltImage, writeOciImage } from '../helpers/oci';
import { freePort, pushImage, startRegistry, writeHtpasswd, type Registry } from '../helpers/registry';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy';
import { describeWith, met, requireTool } from '../helpers/requires';
import { pageTagsList, tagsListRequests } from '../helpers/tags-paging';

const NEEDS = [requireTool('docker-registry', 'skopeo', 'htpasswd')];
const quick = { retry: { attempts: 2, baseMs: 5 } };
const TAGS = ['1', '1.1', '2', 'latest', 'v3-rc'];

let work: string;
let img: BuiltImage;
beforeAll(async () => {
  if (!met(...NEEDS)) return;
  work = await mkdtemp(join(tmpdir(), 'berth-remotes-tags-'));
  img = await writeOciImage(join(work, 'layout'), { name: 'tags/app:1', layers: [{ entries: [{ path: 'f', type: 'file', content: 'tags test\n' }] }] });
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describeWith(...NEEDS)('tags/list', () => {
  let reg: Registry;
  let proxy: RegistryProxy;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startRegistry();
    for (const t of TAGS) await pushImage(reg, img.layoutDir, img.refName, `tags/app:${t}`);
    await pushImage(reg, img.layoutDir, img.refName, 'tags/other:9');
  }, 120_000);
  beforeEach(async () => {
    proxy = await startRegistryProxy(reg);
    client = new RegistryClient(quick);
  });
  afterEach(async () => {
    client.close();
    await proxy.stop();
  });
  afterAll(() => reg?.stop());

  it("every tag of the repository and none of another's, in one answer", async () => {
    expect((await client.repository(`${reg.host}/tags/app`).tags()).sort()).toEqual(TAGS);
    expect(await client.repository(`${reg.host}/tags/other`).tags()).toEqual(['9']);
  });

  it('asks n= per page and follows each Link as the registry wrote it', async () => {
    pageTagsList(proxy, 100);
    expect(await client.repository(`${proxy.host}/tags/app`).tags({ pageSize: 2 })).toEqual(TAGS);
    expect(tagsListRequests(proxy)).toEqual([
      '/v2/tags/app/tags/list?n=2',
      '/v2/tags/app/tags/list?n=2&last=1.1&page=2',
      '/v2/tags/app/tags/list?n=2&last=latest&page=3',
    ]);
  });

  it("follows the registry's own paging when no page size is asked", async () => {
    pageTagsList(proxy, 3);
    expect(await client.repository(`${proxy.host}/tags/app`).tags()).toEqual(TAGS);
    expect(tagsListRequests(proxy)).toEqual(['/v2/tags/app/tags/list', '/v2/tags/app/tags/list?n=3&last=2&page=2']);
  });

  it("an unknown repository is NotFound in the registry's words", async () => {
    await expect(client.repository(`${reg.host}/tags/nothere`).tags()).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringMatching(/^list tags of 127\.0\.0\.1:\d+\/tags\/nothere: 404 Not Found: repository name not known to registry \(NAME_UNKNOWN\)/),
    });
  });

  it('refuses a Link to another origin, a page that repeats, a bad tag and a body that is not JSON, without following them', async () => {
    const answer = (body: unknown, link?: string) => {
      proxy.onRequest = ({ path }) =>
        /tags\/list/.test(path)
          ? {
              reply: {
                status: 200,
                headers: { 'content-type': 'application/json', ...(link ? { link } : {}) },
                body: typeof body === 'string' ? body : JSON.stringify(body),
              },
            }
          : undefined;
    };
    const repo = () => client.repository(`${proxy.host}/tags/app`);
    answer({ name: 'tags/app', tags: ['1'] }, '<http://127.0.0.2:1/v2/tags/app/tags/list?last=1>; rel="next"');
    await expect(repo().tags()).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringContaining('is not on http://127.0.0.1:') });
    answer({ name: 'tags/app', tags: ['1'] }, '</v2/tags/app/tags/list?n=1>; rel="next"');
    await expect(repo().tags({ pageSize: 1 })).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringContaining('sent page') });
    answer({ name: 'tags/app', tags: ['ok', '../../etc'] });
    await expect(repo().tags()).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringContaining('invalid tag "../../etc"') });
    answer('<html>');
    await expect(repo().tags()).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringContaining('not JSON') });
    answer({ name: 'tags/app', tags: null });
    expect(await repo().tags()).toEqual([]);
    expect(tagsListRequests(proxy)).toHaveLength(5); // one request each: nothing refused was followed
  });

  it('a registry that is not there is Unavailable', async () => {
    const port = await freePort();
    await expect(client.repository(`127.0.0.1:${port}/tags/app`).tags()).rejects.toMatchObject({ kind: 'Unavailable' });
  });
});

describeWith(...NEEDS)('tags/list with basic auth', () => {
  let reg: Registry;
  beforeAll(async () => {
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, { dave: 'p4ss' });
    reg = await startRegistry({ auth: { htpasswd } });
    const r = await run(
      'skopeo',
      ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'dave:p4ss', `oci:${img.layoutDir}:${img.refName}`, `docker://${reg.host}/tags/private:1`],
      { timeoutMs: 60_000 },
    );
    if (r.code !== 0) throw new Error(`skopeo copy: ${r.stderr}`);
  }, 60_000);
  afterAll(() => reg?.stop());

  it('lists with credentials; without them it is PermissionDenied', async () => {
    const c = new RegistryClient({ ...quick, credentials: staticCredentials({ [reg.host]: { username: 'dave', password: 'p4ss' } }) });
    expect(await c.repository(`${reg.host}/tags/private`).tags()).toEqual(['1']);
    c.close();
    const anon = new RegistryClient(quick);
    await expect(anon.repository(`${reg.host}/tags/private`).tags()).rejects.toMatchObject({ kind: 'PermissionDenied' });
    anon.close();
  });
});
