import { startProcess } from '../helpers/daemon';
import { ctr } from '../helpers/ctr';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));

describe('ctr version against berthd', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  beforeAll(async () => {
    d = await startProcess();
  });
  afterAll(async () => {
    await d?.stop();
  });

  itCtr('ctr version prints the server version, revision and a UUID, exit 0', async () => {
    const r = await ctr(d.dirs.address, ['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Server:\s*\n\s*Version:\s+berth-\S+\s*\n\s*Revision:\s+\S+\s*\n\s*UUID:\s+[0-9a-f-]{36}/);
    // The same UUID on a second call.
    const again = await ctr(d.dirs.address, ['version']);
    expect(again.stdout.match(/UUID:\s+(\S+)/)?.[1]).toBe(r.stdout.match(/UUID:\s+(\S+)/)?.[1]);
  });
});
