import { startProcess } from '../helpers/daemon';
import { ctr } from '../helpers/ctr';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));

describe('ctr plugins ls against berthd', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  beforeAll(async () => {
    d = await startProcess();
  });
  afterAll(async () => {
    await d?.stop();
  });

  itCtr("ctr plugins ls lists berth's plugins; a filter narrows the list", async () => {
    const r = await ctr(d.dirs.address, ['plugins', 'ls']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^TYPE\s+ID\s+PLATFORMS\s+STATUS/m);
    expect(r.stdout).toMatch(/^io\.containerd\.grpc\.v1\s+events\s+-\s+ok\s*$/m);
    expect(r.stdout).toMatch(/^io\.containerd\.grpc\.v1\s+introspection\s+-\s+ok\s*$/m);
    const f = await ctr(d.dirs.address, ['plugins', 'ls', 'id==version']);
    expect(f.code).toBe(0);
    expect(
      f.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trimEnd()),
    ).toEqual([expect.stringMatching(/^io\.containerd\.grpc\.v1\s+version\s+-\s+ok\s*$/)]);
  });
});
