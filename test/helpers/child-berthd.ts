/**
 * A berthd in a child process that runs a script against its engine, prints the script's result
 * as one JSON line and idles, to be SIGKILLed: what a crashed berthd leaves behind.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, type TestDirs } from './daemon';
import { testNetworkConfig } from './net';

/**
 * `body` is the async body of a function of (engine, ctx) whose value is printed; it runs in the
 * child from dist/ (build first). Resolves with that value once the child berthd is dead.
 */
export async function runAndKillBerthd<T>(dirs: TestDirs, ns: string, body: string): Promise<T> {
  const script = join(dirs.dir, 'child.js');
  await writeFile(
    script,
    `
const { startDaemon } = require(${JSON.stringify(join(REPO, 'dist/daemon/main.js'))});
const { ConfigSchema } = require(${JSON.stringify(join(REPO, 'dist/daemon/config.js'))});
const { nullLogger } = require(${JSON.stringify(join(REPO, 'dist/core/logger.js'))});
const { ENGINE } = require(${JSON.stringify(join(REPO, 'dist/daemon/slices/engine.js'))});
(async () => {
  const [root, state, address, ns, network] = process.argv.slice(2);
  const d = await startDaemon(ConfigSchema.parse({ root, state, address, logLevel: 'error', network: JSON.parse(network) }), nullLogger);
  const result = await (async (engine, ctx) => { ${body} })(d.parts.get(ENGINE), { ns, log: nullLogger });
  process.stdout.write(JSON.stringify(result) + '\\n');
  setInterval(() => {}, 1000);
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const child = spawn(process.execPath, [script, dirs.root, dirs.state, dirs.address, ns, JSON.stringify(testNetworkConfig(dirs.dir))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const result = await new Promise<T>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as T);
    });
    child.once('exit', (code) => reject(new Error(`child berthd exited ${code}`)));
  });
  child.removeAllListeners('exit');
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  return result;
}
