/** `ctr run --rm` (foreground) against berthd: output, exit codes, stdin, tty, run flags. */
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS } from '../tasks/ctr-fixture';

const f = new CtrFixture('run');
beforeAll(() => f.setup(), 120_000);
afterAll(() => f.teardown(), 60_000);

let seq = 0;
const nextId = (name: string) => `${name}-${++seq}`;

describe('ctr run --rm against berthd', () => {
  itCtrRoot('prints stdout and stderr and leaves nothing behind', async () => {
    const r = await f.ctr(['run', '--rm', IMG, nextId('echo'), 'sh', '-c', 'echo out; echo err >&2']);
    expect(r).toMatchObject({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });
});
