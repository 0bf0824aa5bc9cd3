import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenges } from '../../src/remotes/auth/challenge';
import { dockerConfigCredentials } from '../../src/remotes/auth/docker-config';
import { chainCredentials, staticCredentials } from '../../src/remotes/auth/types';

const bearer = { scheme: 'bearer', params: {} };

describe('WWW-Authenticate challenges', () => {
  it('parses Bearer with quoted parameters (commas and escapes inside quotes)', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' } },
    ]);
    expect(parseChallenges('Bearer realm="a\\"b", error="invalid_token"')[0]!.params).toEqual({ realm: 'a"b', error: 'invalid_token' });
  });
  it('parses Basic and several challenges, and survives junk', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges('Basic realm="x", Bearer realm="y",service=s').map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(() => parseChallenges('=,,"==\u0000 ,=x')).not.toThrow();
  });
});

describe('credentials from ~/.docker/config.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dockercfg-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const write = (cfg: unknown) => writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('reads base64 user:pass from auths, by host or by URL key; Docker Hub under index.docker.io/v1/', async () => {
    await write({
      auths: {
        '127.0.0.1:5000': { auth: b64('alice:s3cr:et') },
        'https://registry.lan/v1/': { auth: b64('bob:pw') },
        'https://index.docker.io/v1/': { auth: b64('hub:hubpw') },
        'other.lan': { identitytoken: 'refresh-me', username: 'carol' },
        'token.lan': { registrytoken: 'abc' },
      },
    });
    const p = dockerConfigCredentials({ dir });
    expect(await p('127.0.0.1:5000', bearer)).toEqual({ username: 'alice', password: 's3cr:et' });
    expect(await p('registry.lan', bearer)).toEqual({ username: 'bob', password: 'pw' });
    expect(await p('docker.io', bearer)).toEqual({ username: 'hub', password: 'hubpw' });
    expect(await p('other.lan', bearer)).toEqual({ identityToken: 'refresh-me', username: 'carol' });
    expect(await p('token.lan', bearer)).toEqual({ header: 'Bearer abc' });
    expect(await p('unknown.lan', bearer)).toBeUndefined();
  });

  it('no config file means anonymous; a broken one is a clear error', async () => {
    expect(await dockerConfigCredentials({ dir })('x.lan', bearer)).toBeUndefined();
    await writeFile(join(dir, 'config.json'), '{not json');
    await expect(dockerConfigCredentials({ dir })('x.lan', bearer)).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('not valid JSON'),
    });
    await write({ auths: { 'x.lan': { auth: b64('no-colon') } } });
    await expect(dockerConfigCredentials({ dir })('x.lan', bearer)).rejects.toThrow(/not base64 of "user:password"/);
  });

  it('a credsStore/credHelpers helper that is not installed is a clear FailedPrecondition', async () => {
    await write({ credsStore: 'berth-absent-helper', auths: { 'x.lan': {} } });
    const env = { ...process.env, PATH: dir };
    await expect(dockerConfigCredentials({ dir, env })('x.lan', bearer)).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('credential helper docker-credential-berth-absent-helper not found in PATH (credsStore in'),
    });
    await write({ credHelpers: { 'y.lan': 'berth-absent-2' } });
    await expect(dockerConfigCredentials({ dir, env })('y.lan', bearer)).rejects.toThrow(/docker-credential-berth-absent-2 not found in PATH \(credHelpers in/);
    // A helper for another host does not apply.
    expect(await dockerConfigCredentials({ dir, env })('z.lan', bearer)).toBeUndefined();
  });

  it('runs an installed helper: server URL on stdin, JSON out; <token> is an identity token; "not found" is anonymous', async () => {
    const bin = join(dir, 'docker-credential-berthtest');
    await writeFile(
      bin,
      `#!/bin/sh
read url
case "$url" in
  https://index.docker.io/v1/) echo '{"ServerURL":"'$url'","Username":"<token>","Secret":"idtok"}' ;;
  reg.lan) echo '{"ServerURL":"reg.lan","Username":"dave","Secret":"pw"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    await chmod(bin, 0o755);
    await write({ credsStore: 'berthtest' });
    const p = dockerConfigCredentials({ dir, env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    expect(await p('reg.lan', bearer)).toEqual({ username: 'dave', password: 'pw' });
    expect(await p('docker.io', bearer)).toEqual({ identityToken: 'idtok' });
    expect(await p('nope.lan', bearer)).toBeUndefined();
  });

  it('chains providers: the first with an answer wins', async () => {
    const p = chainCredentials(undefined, staticCredentials({ a: { username: 'u', password: 'p' } }), async () => ({ header: 'X' }));
    expect(await p('a', bearer)).toEqual({ username: 'u', password: 'p' });
    expect(await p('b', bearer)).toEqual({ header: 'X' });
  });
});
