/** The engine's pure parts: Docker's rules for users, env, sizes, signals, references, detach keys, resolv.conf, logs tail. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, mergeEnv } from '../../src/engine/config';
import { DetachScanner, parseDetachKeys } from '../../src/engine/detach-keys';
import { containerResolvConf } from '../../src/engine/etc-files';
import { chainIds, familiarName, normalizeReference } from '../../src/engine/image';
import { humanDuration } from '../../src/core/human';
import { timeNs } from '../../src/core/time';
import { decodeLine, logFiles, tailLines } from '../../src/engine/logs/files';
import { generateName, newId, validateName } from '../../src/engine/names';
import { parseLogOpts, parseMemory, parseSignal, parseSize } from '../../src/engine/units';
import { resolveUser } from '../../src/engine/user';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n';

describe('engine units', () => {
  it('resolves users as runc does', () => {
    expect(resolveUser('', PASSWD, GROUP)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
    expect(resolveUser('app', PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/app' });
    expect(resolveUser('1000', PASSWD, GROUP)).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [10, 29] });
    expect(resolveUser('app:wheel', PASSWD, GROUP)).toMatchObject({ uid: 1000, gid: 10, additionalGids: [] });
    expect(resolveUser('5000:5001', PASSWD, GROUP)).toEqual({ uid: 5000, gid: 5001, additionalGids: [], home: '/' });
    expect(() => resolveUser('nobody', PASSWD, GROUP)).toThrow(/unable to find user nobody/);
    expect(() => resolveUser('app:staff', PASSWD, GROUP)).toThrow(/unable to find group staff/);
    expect(resolveUser('7', undefined, undefined)).toMatchObject({ uid: 7, gid: 0 });
  });

  it('merges env by key; a bare key removes', () => {
    expect(mergeEnv(['PATH=/bin', 'A=1', 'B=2'], ['A=x', 'C=3', 'B'])).toEqual(['PATH=/bin', 'A=x', 'C=3']);
  });

  it('merges Cmd and Entrypoint as Docker does', () => {
    const img = {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: { Entrypoint: ['/ep'], Cmd: ['default'], Env: ['A=1'], ExposedPorts: { '80/tcp': {} }, Labels: { l: 'image' } },
    };
    const id = newId();
    expect(buildConfig({ image: 'x' }, img, id).config).toMatchObject({
      entrypoint: ['/ep'],
      cmd: ['default'],
      exposedPorts: ['80/tcp'],
      hostname: id.slice(0, 12),
      stopSignal: 'SIGTERM',
    });
    expect(buildConfig({ image: 'x', cmd: ['mine'] }, img, id).config).toMatchObject({ entrypoint: ['/ep'], cmd: ['mine'] });
    expect(buildConfig({ image: 'x', entrypoint: ['/other'] }, img, id).config).toMatchObject({ entrypoint: ['/other'], cmd: [] });
    expect(buildConfig({ image: 'x', entrypoint: [''], cmd: ['c'] }, img, id).config).toMatchObject({ entrypoint: [], cmd: ['c'] });
    expect(buildConfig({ image: 'x', labels: { l: 'run' }, exposedPorts: ['53/udp', '8080'] }, img, id).config).toMatchObject({
      labels: { l: 'run' },
      exposedPorts: ['53/udp', '80/tcp', '8080/tcp'],
    });
    expect(() => buildConfig({ image: 'x', entrypoint: [''] }, img, id)).toThrow(/no command/);
    expect(() => buildConfig({ image: 'x', workingDir: 'rel' }, img, id)).toThrow(/absolute/);
    expect(() => buildConfig({ image: 'x', stopSignal: 'SIGNOPE' }, img, id)).toThrow(/invalid signal/);
    expect(buildConfig({ image: 'x' }, img, id).hostConfig.networkMode).toBe('bridge'); // Docker's default; whether a network exists is create's to check
  });

  it('sizes, memory, signals, log options', () => {
    expect(parseSize('64m', 'x')).toBe(64 << 20);
    expect(parseSize('1.5g', 'x')).toBe(1.5 * 2 ** 30);
    expect(parseSize('10k', 'x', 1000)).toBe(10_000);
    expect(parseSize('512MiB', 'x')).toBe(512 << 20);
    expect(() => parseSize('ten', 'x')).toThrow(/invalid size/);
    expect(() => parseMemory('4m')).toThrow(/6MB/);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('SIGKILL')).toBe(9);
    expect(parseSignal('10')).toBe(10);
    expect(() => parseSignal('0')).toThrow();
    expect(parseLogOpts({ 'max-size': '10m', 'max-file': '3' }, { maxSize: 0, maxFile: 1 })).toEqual({ maxSize: 10_000_000, maxFile: 3 });
    expect(parseLogOpts({ 'max-file': '3' }, { maxSize: 0, maxFile: 1 })).toEqual({ maxSize: 0, maxFile: 1 });
    expect(() => parseLogOpts({ compress: 'true' }, { maxSize: 0, maxFile: 1 })).toThrow(/unknown log opt/);
  });

  it('names, ids, references', () => {
    expect(validateName('/web-1')).toBe('web-1');
    expect(() => validateName('a')).toThrow();
    expect(() => validateName('_x')).toThrow();
    expect(() => validateName('x/y')).toThrow();
    expect(generateName()).toMatch(/^[a-z]+_[a-z]+$/);
    expect(generateName(3)).toMatch(/^[a-z]+_[a-z]+\d$/);
    for (let i = 0; i < 50; i++) expect(newId()).not.toMatch(/^\d{12}/);
    expect(normalizeReference('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeReference('me/app:1')).toBe('docker.io/me/app:1');
    expect(normalizeReference('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeReference('registry.example/a/b@sha256:' + 'a'.repeat(64))).toBe('registry.example/a/b@sha256:' + 'a'.repeat(64));
    expect(() => normalizeReference('Upper/case')).toThrow(/lowercase/);
    expect(familiarName('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(chainIds(['sha256:a', 'sha256:b'])[1]).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('detach keys: the sequence ends the session, a broken one passes through', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('a,ctrl-@,ctrl-[')]).toEqual([97, 0, 27]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow();
    const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    expect(s.feed(Buffer.from([65, 16]))).toEqual({ pass: Buffer.from([65]), detach: false });
    expect(s.feed(Buffer.from([66]))).toEqual({ pass: Buffer.from([16, 66]), detach: false });
    expect(s.feed(Buffer.from([16, 16]))).toEqual({ pass: Buffer.from([16]), detach: false });
    expect(s.feed(Buffer.from([17, 67]))).toEqual({ pass: Buffer.alloc(0), detach: true });
  });

  it("resolv.conf loses loopback name servers; none left: Docker's public fallback", () => {
    expect(containerResolvConf('search x\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions ndots:1\n')).toBe(
      'search x\nnameserver 10.0.0.2\noptions ndots:1\n',
    );
    expect(containerResolvConf('nameserver 127.0.0.1\nnameserver ::1\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });

  it('human durations as docker ps', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(30_000)).toBe('30 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
  });

  it('log files: order, entries, tail across rotated files and a line still being written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
    try {
      const p = join(dir, 'c-json.log');
      const line = (i: number, big = false) =>
        JSON.stringify({
          log: `${big ? 'x'.repeat(70_000) : `l${i}`}\n`,
          stream: i % 2 ? 'stderr' : 'stdout',
          time: `2026-01-01T00:00:${String(i).padStart(2, '0')}.5Z`,
        }) + '\n';
      await writeFile(`${p}.2`, line(0) + line(1));
      await writeFile(`${p}.1`, line(2) + line(3, true));
      await writeFile(p, line(4) + line(5) + '{"log":"unfinished');
      expect(await logFiles(p)).toEqual([`${p}.2`, `${p}.1`, p]);
      const t = await tailLines(await logFiles(p), 3);
      expect(t.lines.map((l) => decodeLine(l)!.data.toString().slice(0, 3))).toEqual(['xxx', 'l4\n', 'l5\n']);
      expect(t.end).toEqual({ file: p, offset: (line(4) + line(5)).length });
      expect((await tailLines(await logFiles(p), 100)).lines).toHaveLength(6);
      expect(decodeLine(line(1))).toMatchObject({ stream: 'stderr', timestamp: '2026-01-01T00:00:01.5Z' });
      expect(decodeLine('not json')).toBeUndefined();
      expect(timeNs('2026-01-01T00:00:01.123456789Z') - timeNs('2026-01-01T00:00:01Z')).toBe(123456789n);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
