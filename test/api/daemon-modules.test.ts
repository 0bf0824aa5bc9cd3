/**
 * berthd loads compiled descriptors, never the .proto text: the real binary, once serving, has
 * loaded neither protobufjs nor proto-loader nor grpc-js, and has opened no .proto file.
 */
import { recordWithPreload } from '../helpers/preload';

// Preloaded into berthd: records every module it loads and every file it reads, written at exit.
const PRELOAD = `
const fs = require('node:fs');
const out = process.env.BERTH_PRELOAD_OUT;
const read = [];
for (const name of ['readFileSync', 'openSync']) {
  const orig = fs[name];
  fs[name] = function (p, ...rest) { if (typeof p === 'string') read.push(p); return orig.call(this, p, ...rest); };
}
process.on('exit', () => fs.writeFileSync(out, JSON.stringify({ modules: Object.keys(require.cache), read })));
`;

describe('berthd start-up', () => {
  it('loads no proto parser and reads no .proto file', async () => {
    const { modules, read } = await recordWithPreload<{ modules: string[]; read: string[] }>(PRELOAD);
    expect(modules.length).toBeGreaterThan(0);
    expect(modules.filter((m) => /node_modules[\\/](protobufjs|@grpc[\\/])/.test(m))).toEqual([]);
    expect(read.filter((p) => p.endsWith('.proto'))).toEqual([]);
  });
});
