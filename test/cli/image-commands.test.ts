/**
 * berth's image commands through the BUILT `berth` binary (node dist/cli/bin.js) against a berthd
 * and Debian's docker-registry on loopback, checked by real clients: containerd 1.6's `ctr`
 * (against a private containerd) pulls what `berth push` pushed, `skopeo inspect oci-archive:`
 * reads what `berth save` wrote, `berth load` reads what `skopeo copy` wrote, and `jq` parses
 * `--format json`. Images are built in the test.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthCli } from '../helpers/berth-cli';
import { BERTH_BIN } from '../helpers/cli';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { run } from '../helpers/ctr';
import { startInProcess } from '../helpers/daemon';
import { busyboxImage } from '../helpers/images';
import { type BuiltImage, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, writeHtpasswd, type Registry } from '../helpers/registry';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';
import { startTokenServer } from '../helpers/token-server';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo', 'ctr', 'containerd', 'jq', 'htpasswd', 'script', 'openssl')];
const itCli = itWith(...NEEDS);

describe('berth image commands (built binary, real registry)', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let reg: Registry;
  let work: string;
  let layout: string;
  let bb: BuiltImage;
  let berth: ReturnType<typeof berthCli>;
  let ref: string;
  let n = 0;
  const ns = () => `cli${++n}`;
  const jq = async (filter: string, input: string) => {
    const r = await run('jq', ['-r', filter], { input });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return r.stdout.trim().split('\n').filter(Boolean);
  };

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    d = await startInProcess({ logLevel: 'error' });
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'berth-cli-image-'));
    layout = join(work, 'layout');
    bb = await writeOciImage(layout, busyboxImage('cli/busybox:1'));
    ref = await pushImage(reg, layout, bb.refName, 'cli/busybox:1');
    berth = berthCli(d.dirs.address, { DOCKER_CONFIG: join(work, 'docker-config') });
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    await d?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  itCli(
    'pull: plain progress lines when stdout is no terminal, Docker closing lines, then images lists it (--format json through jq, -q)',
    async () => {
      const namespace = ns();
      const r = await berth(['pull', ref], { namespace });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      const layer = bb.layers[0]!.digest.slice(7, 19);
      expect(lines[0]).toBe(`1: Pulling from cli/busybox`);
      expect(lines).toContain(`${layer}: Pull complete`);
      expect(r.stdout).not.toContain('\x1b['); // no cursor movement into a pipe
      expect(lines.slice(-3)).toEqual([`Digest: ${bb.manifest.digest}`, `Status: Downloaded newer image for ${ref}`, ref]);

      const json = await berth(['images', '--format', 'json'], { namespace });
      expect(json.code).toBe(0);
      expect(await jq('.Repository + ":" + .Tag', json.stdout)).toEqual([ref]);
      expect(await jq('.ID', json.stdout)).toEqual([bb.config.digest.slice(7, 19)]);
      const tmpl = await berth(['images', '--format', '{{.Repository}}'], { namespace });
      expect(tmpl.stdout).toBe(`${ref.replace(/:1$/, '')}\n`);
      const q = await berth(['images', '-q', '--no-trunc'], { namespace });
      expect(q.stdout).toBe(`${bb.config.digest}\n`);

      const again = await berth(['pull', '-q', ref], { namespace });
      expect(again).toMatchObject({ code: 0, stdout: `${ref}\n` });
    },
    120_000,
  );

  itCli(
    'pull on a terminal (script(1) gives it a pty): rows redrawn in place, the same closing lines',
    async () => {
      const cmd = [process.execPath, BERTH_BIN, '-n', ns(), 'pull', ref].map((a) => `'${a}'`).join(' ');
      const r = await run('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, BERTH_ADDRESS: d.dirs.address }, timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      const out = r.stdout.replace(/\r\n/g, '\n');
      expect(out).toContain(`\x1b[2K${bb.layers[0]!.digest.slice(7, 19)}: `);
      expect(out).toMatch(/\u001b\[\d+A/); // eslint-disable-line no-control-regex
      expect(out).toContain(`Digest: ${bb.manifest.digest}\nStatus: Downloaded newer image for ${ref}\n${ref}\n`);
    },
    120_000,
  );

  itCli(
    'tag, push, and containerd 1.6 `ctr images pull` of the pushed image gets the same manifest',
    async () => {
      const namespace = ns();
      expect((await berth(['pull', '-q', ref], { namespace })).code).toBe(0);
      const pushed = `${reg.host}/cli/pushed:2`;
      const t = await berth(['tag', ref, pushed], { namespace });
      expect(t).toMatchObject({ code: 0, stderr: '' });
      const p = await berth(['push', pushed], { namespace });
      expect(p.stderr).toBe('');
      expect(p.code).toBe(0);
      expect(p.stdout).toContain(`The push refers to repository [${reg.host}/cli/pushed]`);
      expect(p.stdout.trim().split('\n').pop()).toBe(`2: digest: ${bb.manifest.digest} size: ${bb.manifest.size}`);

      let c: Containerd | undefined;
      try {
        c = await startContainerd();
        const pull = await c.ctr(['images', 'pull', '--plain-http', pushed], { timeoutMs: 60_000 });
        expect(pull.code).toBe(0);
        const ls = await c.ctr(['images', 'ls']);
        expect(ls.stdout).toMatch(new RegExp(`${pushed.replace(/[.:/]/g, '\\$&')}\\s+\\S+\\s+${bb.manifest.digest}`));
      } finally {
        await c?.stop();
      }
    },
    180_000,
  );

  itCli(
    'save -o writes an OCI archive that `skopeo inspect oci-archive:` reads; no file on failure',
    async () => {
      const namespace = ns();
      expect((await berth(['pull', '-q', ref], { namespace })).code).toBe(0);
      const file = join(work, 'saved.tar');
      const s = await berth(['save', '-o', file, ref], { namespace });
      expect(s).toMatchObject({ code: 0, stdout: '', stderr: '' });
      const inspect = await run('skopeo', ['inspect', `oci-archive:${file}`]);
      expect(inspect.stderr).toBe('');
      const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[] };
      expect(info.Digest).toBe(bb.manifest.digest);
      expect(info.Layers).toEqual(bb.layers.map((l) => l.digest));

      const missing = join(work, 'missing.tar');
      const bad = await berth(['save', '-o', missing, `${reg.host}/cli/nothere:1`], { namespace });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    },
    120_000,
  );

  itCli(
    'load -i of archives skopeo copy wrote (oci-archive and docker-archive): named as skopeo named them, listed',
    async () => {
      for (const kind of ['oci-archive', 'docker-archive'] as const) {
        const namespace = ns();
        const file = join(work, `skopeo-${kind}.tar`);
        const name = `example.com/loaded/${kind}:3`;
        const cp = await run('skopeo', ['copy', '--quiet', `oci:${layout}:${bb.refName}`, `${kind}:${file}:${name}`], { timeoutMs: 60_000 });
        expect(cp).toMatchObject({ code: 0, stderr: '' });
        const l = await berth(['load', '-i', file], { namespace });
        expect(l.stderr).toBe('');
        expect(l).toMatchObject({ code: 0, stdout: `Loaded image: ${name}\n` });
        const json = await berth(['images', '--format', 'json'], { namespace });
        expect(await jq('.Repository + ":" + .Tag', json.stdout)).toEqual([name]);
      }
    },
    120_000,
  );

  itCli(
    'rmi untags then deletes; rmi -f; image inspect gives Docker fields',
    async () => {
      const namespace = ns();
      expect((await berth(['pull', '-q', ref], { namespace })).code).toBe(0);
      expect((await berth(['tag', ref, 'other/name:7'], { namespace })).code).toBe(0);
      const ins = await berth(['image', 'inspect', 'other/name:7'], { namespace });
      expect(ins.code).toBe(0);
      expect(await jq('.[0].Id', ins.stdout)).toEqual([bb.config.digest]);
      expect(await jq('.[0].RepoTags | sort | join(",")', ins.stdout)).toEqual([[ref, 'other/name:7'].sort().join(',')]);
      expect(await jq('.[0].RootFS.Layers[0]', ins.stdout)).toEqual([bb.layers[0]!.diffId]);
      const fmt = await berth(['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', ref], { namespace });
      expect(fmt.stdout.trim()).toMatch(/^linux\/\w+$/);

      const r1 = await berth(['rmi', 'other/name:7'], { namespace });
      expect(r1).toMatchObject({ code: 0, stdout: 'Untagged: other/name:7\n' });
      const r2 = await berth(['rmi', '-f', ref], { namespace });
      expect(r2.code).toBe(0);
      expect(r2.stdout).toContain(`Untagged: ${ref}`);
      expect(r2.stdout).toContain(`Deleted: ${bb.config.digest}`);
      const left = await berth(['images', '--format', 'json'], { namespace });
      expect(left).toMatchObject({ code: 0, stdout: '' });
    },
    120_000,
  );

  itCli(
    'bad input: a missing image, an unknown image to rmi/tag/inspect, a bad reference: one clear line, non-zero exit, nothing stored',
    async () => {
      const namespace = ns();
      const cases: Array<[string[], RegExp]> = [
        [['pull', `${reg.host}/cli/nothere:1`], /not found/i],
        [['rmi', 'nosuch:1'], /No such image/i],
        [['tag', 'nosuch:1', 'x:1'], /No such image|not found/i],
        [['image', 'inspect', 'nosuch:1'], /No such image/i],
        [['pull', 'BusyBox:1'], /invalid reference format|must be lowercase/i],
        [['load', '-i', join(work, 'no-such-file.tar')], /no such file/i],
      ];
      for (const [args, msg] of cases) {
        const r = await berth(args, { namespace });
        expect({ args, code: r.code === 0 ? 0 : 'non-zero' }).toEqual({ args, code: 'non-zero' });
        const lines = r.stderr.trim().split('\n');
        expect({ args, lines: lines.length }).toEqual({ args, lines: 1 });
        expect(lines[0]).toMatch(msg);
      }
      expect((await berth(['images', '-q'], { namespace })).stdout).toBe('');
    },
    120_000,
  );

  itCli(
    "login checks the password with a basic-auth registry and writes Docker's config; push and pull then use it; logout removes it",
    async () => {
      const htpasswd = join(work, 'htpasswd');
      await writeHtpasswd(htpasswd, { alice: 's3cret' });
      const authReg = await startRegistry({ auth: { htpasswd } });
      try {
        const namespace = ns();
        const cfgFile = join(work, 'docker-config', 'config.json');
        const wrong = await berth(['login', '-u', 'alice', '--password-stdin', authReg.host], { input: 'wrong\n' });
        expect(wrong.code).not.toBe(0);
        expect(wrong.stderr).toMatch(/401 Unauthorized/);
        await expect(stat(cfgFile)).rejects.toMatchObject({ code: 'ENOENT' });

        const target = `${authReg.host}/private/bb:1`;
        expect((await berth(['pull', '-q', ref], { namespace })).code).toBe(0);
        expect((await berth(['tag', ref, target], { namespace })).code).toBe(0);
        const anon = await berth(['push', target], { namespace });
        expect(anon.code).not.toBe(0);

        const ok = await berth(['login', '-u', 'alice', '--password-stdin', authReg.host], { input: 's3cret\n' });
        expect(ok).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
        const cfg = JSON.parse(await readFile(cfgFile, 'utf8')) as { auths: Record<string, { auth: string }> };
        expect(Buffer.from(cfg.auths[authReg.host]!.auth, 'base64').toString()).toBe('alice:s3cret');
        expect((await stat(cfgFile)).mode & 0o777).toBe(0o600);

        const p = await berth(['push', target], { namespace });
        expect(p.stderr).toBe('');
        expect(p.code).toBe(0);
        const other = ns();
        expect((await berth(['pull', '-q', target], { namespace: other })).stdout).toBe(`${target}\n`);

        expect((await berth(['logout', authReg.host])).stdout).toBe(`Removing login credentials for ${authReg.host}\n`);
        expect(JSON.parse(await readFile(cfgFile, 'utf8')).auths).toEqual({});
        const after = await berth(['pull', '-q', target], { namespace: ns() });
        expect(after.code).not.toBe(0);
      } finally {
        await authReg.stop();
      }
    },
    180_000,
  );

  itCli(
    "login follows a token registry's Bearer challenge to its realm; push and pull then get tokens with the stored credentials",
    async () => {
      const ts = await startTokenServer({ users: { carol: 'tok3n' } });
      const tokenReg = await startRegistry({ auth: { token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.certPath } } });
      const dockerConfig = join(work, 'docker-config-token');
      const cli = berthCli(d.dirs.address, { DOCKER_CONFIG: dockerConfig });
      try {
        const wrong = await cli(['login', '-u', 'carol', '--password-stdin', tokenReg.host], { input: 'nope\n' });
        expect(wrong.code).not.toBe(0);
        expect(wrong.stderr).toMatch(/401 Unauthorized/);
        expect(ts.requests.at(-1)).toMatchObject({ account: 'carol', user: 'carol', status: 401 });

        const ok = await cli(['login', '-u', 'carol', '--password-stdin', tokenReg.host], { input: 'tok3n\n' });
        expect(ok).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
        const cfg = JSON.parse(await readFile(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
        expect(Buffer.from(cfg.auths[tokenReg.host]!.auth, 'base64').toString()).toBe('carol:tok3n');

        const namespace = ns();
        const target = `${tokenReg.host}/team/bb:1`;
        expect((await cli(['pull', '-q', ref], { namespace })).code).toBe(0);
        expect((await cli(['tag', ref, target], { namespace })).code).toBe(0);
        ts.requests.length = 0;
        const p = await cli(['push', target], { namespace });
        expect({ code: p.code, stderr: p.stderr }).toEqual({ code: 0, stderr: '' });
        expect(
          ts.requests.some((r) => r.user === 'carol' && r.status === 200 && r.scopes.some((sc) => sc.startsWith('repository:team/bb:') && sc.includes('push'))),
        ).toBe(true);
        expect((await cli(['pull', '-q', target], { namespace: ns() })).stdout).toBe(`${target}\n`);
      } finally {
        await tokenReg.stop();
        await ts.stop();
      }
    },
    180_000,
  );

  itCli(
    'run pulls an image that is missing (progress on stderr), then runs it',
    async () => {
      const namespace = ns();
      const r = await berth(['run', '--rm', ref, 'echo', 'hello from the pulled image'], { namespace, timeoutMs: 120_000 });
      expect(r.stderr).toContain(`Unable to find image '${ref}' locally`);
      expect(r.stderr).toContain(`Digest: ${bb.manifest.digest}`);
      expect(r.stdout).toBe('hello from the pulled image\n');
      expect(r.code).toBe(0);
    },
    180_000,
  );
});
