// A liveness probe for the hostile-peer tests and bench/h2-abuse.ts, run as its own process so an
// attacker's CPU use does not delay it: every `interval` ms it opens a new connection, makes one
// Version call with raw HTTP/2 frames and prints {"ms": <time to the response's END_STREAM>} as a
// JSON line ({"ms": null, "err": ...} on failure or after `timeout` ms).
//   node h2-probe.js <socket> [interval=100] [timeout=5000]
'use strict';
const net = require('node:net');

const [address, intervalArg, timeoutArg] = process.argv.slice(2);
const interval = Number(intervalArg || 100);
const timeout = Number(timeoutArg || 5000);

function lit(name, value) {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  if (n.length > 126 || v.length > 126) throw new Error('probe headers are short');
  return Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([v.length]), v]);
}
function frame(type, flags, id, payload) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}
const block = Buffer.concat([
  lit(':method', 'POST'),
  lit(':scheme', 'http'),
  lit(':path', '/containerd.services.version.v1.Version/Version'),
  lit(':authority', 'localhost'),
  lit('content-type', 'application/grpc'),
  lit('te', 'trailers'),
]);
const request = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  frame(4, 0, 0, Buffer.alloc(0)),
  frame(1, 4, 1, block),
  frame(0, 1, 1, Buffer.alloc(5)),
]);

function probe() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let pending = Buffer.alloc(0);
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ms: null, err: `no answer within ${timeout} ms` }), timeout);
    const sock = net.connect(address, () => sock.write(request));
    sock.on('error', (e) => finish({ ms: null, err: e.message }));
    sock.on('close', () => finish({ ms: null, err: 'closed' }));
    sock.on('data', (c) => {
      pending = Buffer.concat([pending, c]);
      while (pending.length >= 9) {
        const len = pending.readUIntBE(0, 3);
        if (pending.length < 9 + len) break;
        const type = pending[3];
        const flags = pending[4];
        const id = pending.readUInt32BE(5) & 0x7fffffff;
        pending = pending.subarray(9 + len);
        if (type === 4 && !(flags & 1)) sock.write(frame(4, 1, 0, Buffer.alloc(0)));
        if (id === 1 && type === 3) return finish({ ms: null, err: 'stream reset' });
        if (id === 1 && (type === 1 || type === 0) && flags & 1) return finish({ ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      }
    });
  });
}

(async () => {
  for (;;) {
    const started = Date.now();
    const r = await probe();
    process.stdout.write(JSON.stringify({ at: started, ...r }) + '\n');
    await new Promise((res) => setTimeout(res, Math.max(0, interval - (Date.now() - started))));
  }
})();
