/**
 * NODE_EXTRA_CA_CERTS through berth's launchers (core/node/extra-ca.ts): berthd and `berth`,
 * started by their shebangs as installed bins are, start node without the variable (its ~50 ms
 * of start-up) and still trust the CA it names when berthd pulls from a registry over TLS.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_BIN } from '../helpers/cli';
import { run } from '../helpers/ctr';
import { DaemonProcess, testDirs, viaShebang, type TestDirs } from '../helpers/daemon';
import { removeTestNetworking, testNetworkConfig } from '../helpers/net';
import { writeOciImage } from '../helpers/oci';
import { pushImage, selfSignedCert, startRegistry, type Registry } from '../helpers/registry';
import { describeWith, requireTool } from '../helpers/requires';

const environOf = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');

describeWith(requireTool('docker-registry', 'skopeo', 'openssl'))('a registry CA given only in NODE_EXTRA_CA_CERTS', () => {
  let work: string;
  let reg: Registry;
  let cert: string;
  let dirs: TestDirs;
  let daemon: DaemonProcess;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-extra-ca-'));
    cert = (await selfSignedCert(work)).cert;
    reg = await startRegistry({ tls: { cert, key: join(work, 'tls-key.pem') } });
    const img = await writeOciImage(join(work, 'layout'), { name: 'ca/app:1', layers: [{ entries: [{ path: 'f', type: 'file', content: 'extra ca\n' }] }] });
    await pushImage(reg, img.layoutDir, img.refName, 'ca/app:1');
    dirs = await testDirs('berth-extra-ca-d-');
    const config = join(dirs.dir, 'config.json');
    // 127.0.0.1 is plain HTTP by default; this host is TLS, with no CA of its own in the config.
    await writeFile(config, JSON.stringify({ network: testNetworkConfig(dirs.dir), registry: { hosts: { [reg.host]: { plainHttp: false } } } }));
    daemon = new DaemonProcess(dirs, ['--config', config], { viaShebang: true, env: { ...process.env, NODE_EXTRA_CA_CERTS: cert } });
    await daemon.start();
  }, 120_000);
  afterAll(async () => {
    await daemon?.stop();
    if (dirs) {
      removeTestNetworking(testNetworkConfig(dirs.dir));
      await rm(dirs.dir, { recursive: true, force: true });
    }
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('berthd starts without the variable and pulls with the CA it names', async () => {
    const environ = environOf(daemon.child!.pid!);
    expect(environ.filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
    expect(environ).toContain(`BERTH_EXTRA_CA_CERTS=${cert}`);

    const [file, args] = viaShebang(BERTH_BIN, ['pull', `${reg.host}/ca/app:1`]);
    const r = await run(file, args, {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert, BERTH_ADDRESS: dirs.address, BERTH_NAMESPACE: 'extra-ca' },
      timeoutMs: 60_000,
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`${reg.host}/ca/app:1`);
  });
});
