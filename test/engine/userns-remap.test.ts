/**
 * Engine containers under `berthd --userns-remap` (issue 16's bug): the files the engine writes
 * per container and binds over the image's (/etc/hostname, /etc/hosts, /etc/resolv.conf) must be
 * reachable by the container's root, an unprivileged id on the host, and so must a named volume
 * (with the image's content copied in) and a read-only bind of a host directory, all below dirs
 * only root may search. The subordinate id files are the test's own.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineFixture, until } from '../helpers/engine';
import { busyboxEntries, busyboxImage } from '../helpers/images';
import { slow } from '../helpers/slow';
import { itRoot } from './it-root';

const USER = 'berth-engine-remap-test';
const f = new EngineFixture('engremap');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-engine-remap-'));
  await writeFile(join(dir, 'subuid'), `${USER}:300000:65536\n`);
  await writeFile(join(dir, 'subgid'), `${USER}:310000:65536\n`);
  await f.setup(undefined, { usernsRemap: USER, subidFiles: { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') } });
  await f.addImage({
    ...busyboxImage('busybox'),
    layers: [{ entries: [...busyboxEntries(), { path: 'data', type: 'dir' }, { path: 'data/seed', type: 'file', content: 'from the image\n' }] }],
  });
  await mkdir(join(dir, 'bind'), { mode: 0o755 });
  await writeFile(join(dir, 'bind', 'seed'), 'from the host\n', { mode: 0o644 });
}, slow(60_000));
afterAll(async () => {
  await f.teardown();
  await rm(dir, { recursive: true, force: true });
}, slow(60_000));

async function logs(id: string): Promise<string> {
  let s = '';
  for await (const e of f.engine.logs(f.ctx, id)) s += e.data.toString();
  return s;
}

const status = (pid: number, field: string) =>
  readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`))!
    .split(/\s+/)
    .slice(1);

describe('engine under berthd --userns-remap', () => {
  itRoot('a container starts as the subordinate ids and reads the hostname, hosts and resolv.conf berthd wrote for it', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      name: 'remapped',
      hostname: 'remapped-host',
      cmd: [
        'sh',
        '-c',
        'id -u; cat /etc/hostname; grep -c localhost /etc/hosts; test -r /etc/resolv.conf && echo resolv-ok; cat /data/seed; cat /ro/seed; touch /ro/x 2>&1 | grep -c Read-only; sleep 1000',
      ],
      volumes: ['remapvol:/data', `${dir}/bind:/ro:ro`],
    });
    await f.engine.start(f.ctx, c.id);
    const { pid } = (await f.engine.inspect(f.ctx, c.id)).state;
    expect(status(pid, 'Uid')).toEqual(['300000', '300000', '300000', '300000']);
    expect(status(pid, 'Gid')).toEqual(['310000', '310000', '310000', '310000']);
    await until('its output', async () => ((await logs(c.id)).split('\n').length >= 7 ? true : undefined));
    expect(await logs(c.id)).toBe('0\nremapped-host\n2\nresolv-ok\nfrom the image\nfrom the host\n1\n');
    // The files stay root's on the host and unwritable by others; the container's root only reads them.
    const hosts = statSync((await f.engine.inspect(f.ctx, c.id)).hostsPath);
    expect(hosts.mode & 0o022).toBe(0);
    await f.engine.remove(f.ctx, c.id, { force: true });
    await f.engine.volumes.remove(f.ctx, 'remapvol');
  });
});
