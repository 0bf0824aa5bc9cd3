import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcess, rawClient, call, testDirs } from '../helpers/daemon';
import { rm } from 'node:fs/promises';

describe('Version and Introspection/Server', () => {
  it('Version answers berth-<package version>; Server answers a UUID that survives a restart', async () => {
    const dirs = await testDirs();
    try {
      const first = await startInProcess({}, dirs);
      const v = rawClient(dirs.address, 'containerd.services.version.v1.Version');
      const i = rawClient(dirs.address, 'containerd.services.introspection.v1.Introspection');
      const ver = await call(v, 'Version', {});
      expect(ver.version).toBe(`berth-${require('../../package.json').version}`);
      expect(ver.revision).toMatch(/^([0-9a-f]{40}|berth-.+)$/);
      const { uuid } = await call(i, 'Server', {});
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await readFile(join(dirs.root, 'uuid'), 'utf8')).trim()).toBe(uuid);
      v.close();
      i.close();
      await first.daemon.close();

      const second = await startInProcess({}, dirs);
      const i2 = rawClient(dirs.address, 'containerd.services.introspection.v1.Introspection');
      expect((await call(i2, 'Server', {})).uuid).toBe(uuid);
      i2.close();
      await second.daemon.close();
    } finally {
      await rm(dirs.dir, { recursive: true, force: true });
    }
  });
});
