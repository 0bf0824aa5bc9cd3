import { ctr } from '../helpers/ctr';
import { startProcess } from '../helpers/daemon';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));

describe('ctr namespaces against berthd', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  let addr: string;
  beforeAll(async () => {
    d = await startProcess();
    addr = d.dirs.address;
  });
  afterAll(async () => {
    await d.stop();
  });

  itCtr('create with labels, ls shows them, label, rm; rm of a non-empty namespace fails', async () => {
    expect((await ctr(addr, ['namespaces', 'ls', '-q'])).stdout).toBe('');
    const c = await ctr(addr, ['namespaces', 'create', 'testns', 'foo=bar', 'x.y/z=1']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect((await ctr(addr, ['namespaces', 'create', 'testns'])).code).not.toBe(0);
    const ls = await ctr(addr, ['namespaces', 'ls']);
    expect(ls.code).toBe(0);
    const line = ls.stdout.split('\n').find((l) => l.startsWith('testns'))!;
    expect(line).toMatch(/^testns\s+(foo=bar,x\.y\/z=1|x\.y\/z=1,foo=bar)\s*$/);
    expect((await ctr(addr, ['namespaces', 'label', 'testns', 'foo=baz'])).code).toBe(0);
    expect((await ctr(addr, ['namespaces', 'ls'])).stdout).toMatch(/testns\s+.*foo=baz/);

    // something inside: a lease
    expect((await ctr(addr, ['leases', 'create', '--id', 'holder'], { namespace: 'testns' })).code).toBe(0);
    const rm1 = await ctr(addr, ['namespaces', 'rm', 'testns']);
    expect(rm1.code).not.toBe(0);
    expect(rm1.stderr).toMatch(/must be empty|leases/);
    expect((await ctr(addr, ['leases', 'rm', 'holder'], { namespace: 'testns' })).code).toBe(0);
    const rm2 = await ctr(addr, ['namespaces', 'rm', 'testns']);
    expect(rm2.stderr).toBe('');
    expect(rm2.code).toBe(0);
    expect((await ctr(addr, ['namespaces', 'ls', '-q'])).stdout).toBe('');
  });
});
