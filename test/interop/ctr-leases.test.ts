import { ctr } from '../helpers/ctr';
import { startProcess } from '../helpers/daemon';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));

describe('ctr leases against berthd', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  let addr: string;
  beforeAll(async () => {
    d = await startProcess();
    addr = d.dirs.address;
  });
  afterAll(async () => {
    await d.stop();
  });

  itCtr('create (server-generated id and explicit id), ls, rm', async () => {
    const c = await ctr(addr, ['leases', 'create']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const id = c.stdout.trim();
    expect(id).toMatch(/^\d+-[A-Za-z0-9_-]{4}$/);
    const c2 = await ctr(addr, ['leases', 'create', '--id', 'mine', '--expires', '1h', 'k=v']);
    expect(c2.code).toBe(0);
    const ls = await ctr(addr, ['leases', 'ls']);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+CREATED AT\s+LABELS\s*$/);
    expect(lines.find((l) => l.startsWith(id))).toMatch(/containerd\.io\/gc\.expire=/);
    expect(lines.find((l) => l.startsWith('mine '))).toMatch(/k=v/);
    expect((await ctr(addr, ['leases', 'ls', '-q'])).stdout.trim().split('\n').sort()).toEqual([id, 'mine'].sort());
    expect((await ctr(addr, ['leases', 'rm', id, 'mine'])).code).toBe(0);
    expect((await ctr(addr, ['leases', 'ls', '-q'])).stdout.trim()).toBe('');
    expect((await ctr(addr, ['leases', 'rm', 'mine'])).code).not.toBe(0);
  });
});
