/**
 * Node's built-in modules berthd loads, and when. Under berthd's V8 flags Node compiles each from
 * source (node-flags.ts), so what is loaded before the socket is bound delays the first answer:
 * fs/promises (with readline and fs's watchers), crypto, zlib and http load after it
 * (load-in-turns.ts), and http, https and tls only at a registry's first request (remotes/http.ts).
 */
import { recordWithPreload } from '../helpers/preload';

// Preloaded into berthd: the built-ins loaded when it first listens, and when it exits.
const PRELOAD = `
const fs = require('node:fs');
const net = require('node:net');
const builtins = () => process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
let atListen;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) { atListen ??= builtins(); return listen.apply(this, args); };
process.on('exit', () => fs.writeFileSync(process.env.BERTH_PRELOAD_OUT, JSON.stringify({ atListen, atExit: builtins() })));
`;

describe("berthd's built-in modules", () => {
  it('loads none of the heavy ones before listening, and no http, https or tls while idle', async () => {
    const { atListen, atExit } = await recordWithPreload<{ atListen: string[]; atExit: string[] }>(PRELOAD);
    expect(atListen).toContain('net');
    // node:module too: the launcher hands the bundle its own require (code-cache.ts).
    expect(atListen.filter((m) => ['fs/promises', 'readline', 'crypto', 'zlib', 'http', 'https', 'tls', 'module'].includes(m))).toEqual([]);
    // Loaded while wiring: the check above would pass on a list that missed them.
    expect(atExit).toEqual(expect.arrayContaining(['fs/promises', 'crypto', 'zlib']));
    expect(atExit.filter((m) => ['http', 'https', 'tls'].includes(m))).toEqual([]);
  });
});
