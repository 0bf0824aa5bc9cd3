import { Harness, itRoot } from './harness';
import { snapshot, expectClean } from '../helpers/cleanup';

const h = new Harness();
beforeAll(() => h.setup());
afterAll(() => h.teardown());

describe('smoke', () => {
  itRoot('echo', async () => {
    const before = snapshot();
    const r = await h.run('echo', ['sh', '-c', 'echo hello; echo $$; exit 3']);
    const res = await r.finish();
    expect(res).toEqual({ status: 3, out: 'hello\n1\n', oom: false });
    await expectClean(before);
  });
});
