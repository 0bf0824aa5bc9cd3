#!/usr/bin/env node
/**
 * Puts a busybox image into berthd without the internet, through berth's client library (the
 * package's main, dist/client): a one-layer OCI image made from the host's static busybox
 * (Debian's busybox-static), its blobs written with Content/Write and its name with
 * Images/Create, as a pull would leave them. Usage: node scripts/demo-image.js NAME
 * (BERTH_ADDRESS / BERTH_NAMESPACE as for berth). Running it again changes nothing.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { gzipSync } = require('node:zlib');
const { Client } = require('..');

const name = process.argv[2] || 'docker.io/library/busybox:demo';
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => {
  try {
    return execFileSync(p, ['--help'], { stdio: 'ignore' }) || true;
  } catch {
    return false;
  }
});
if (!BUSYBOX) throw new Error('no busybox on this host (apt install busybox-static)');

const digest = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function layer() {
  const dir = mkdtempSync(join(tmpdir(), 'berth-demo-rootfs-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(dir, d));
    chmodSync(join(dir, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
    chmodSync(join(dir, 'bin/busybox'), 0o755);
    for (const a of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n'))
      if (/^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox') symlinkSync('busybox', join(dir, 'bin', a));
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    // Fixed owners and times: the same host busybox gives the same digests every run.
    const tar = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--sort=name', '-C', dir, '-cf', '-', '.'], {
      maxBuffer: 64 << 20,
    });
    return { tar, gz: gzipSync(tar, { level: 6 }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function writeBlob(client, d, data, labels = {}) {
  if (
    await client.content.info({ digest: d }).then(
      () => true,
      () => false,
    )
  )
    return;
  const call = client.content.write();
  const replies = call[Symbol.asyncIterator]();
  const ref = `demo-${d}`;
  await call.send({ action: 'WRITE', ref, offset: '0', data });
  await replies.next();
  await call.send({ action: 'COMMIT', ref, offset: String(data.length), total: String(data.length), expected: d, labels });
  await replies.next();
  await call.end();
  await call.done;
}

(async () => {
  const { tar, gz } = layer();
  const config = Buffer.from(
    JSON.stringify({
      created: '1970-01-01T00:00:00Z',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [digest(tar)] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: "berth's demo: the host's busybox-static" }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(gz), size: gz.length }],
    }),
  );
  const client = new Client();
  try {
    await writeBlob(client, digest(config), config);
    await writeBlob(client, digest(gz), gz, { 'containerd.io/uncompressed': digest(tar) });
    await writeBlob(client, digest(manifest), manifest, {
      'containerd.io/gc.ref.content.config': digest(config),
      'containerd.io/gc.ref.content.l.0': digest(gz),
    });
    const image = { name, target: { media_type: 'application/vnd.oci.image.manifest.v1+json', digest: digest(manifest), size: String(manifest.length) } };
    await client.images.create({ image }).catch(() => client.images.update({ image }));
    console.log(`${name} ${digest(manifest)}`);
  } finally {
    client.close();
  }
})().catch((e) => {
  console.error(`demo-image: ${e.message}`);
  process.exit(1);
});
