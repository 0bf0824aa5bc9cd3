// Generates the wire types, builds dist/ (incrementally), berthd's bundle and the native parts once
// before any test, so tests that spawn the real berthd binary or the native programs never run
// stale code. Build failures are only
// warnings here (tests that need the binary fail on their own); `npm run build` in CI is strict.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
module.exports = async () => {
  const root = join(__dirname, '..');
  // The wire types under src/api/gen are generated from proto/ (skipped when up to date); the
  // tests import them through src/ as well as the daemon through dist/.
  execFileSync(process.execPath, [join(root, 'scripts/gen-api.js')], { cwd: root, stdio: 'inherit' });
  try {
    // tsc still emits JS when it finds type errors; `npm run build`/`npm run typecheck` are the strict gates.
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  } catch (e) {
    process.stderr.write(`\nwarning: tsc reported errors; dist/ was still emitted\n`);
  }
  // berthd's entry point is a bundle (scripts/bundle.js), not tsc output: rebuild it with the rest.
  execFileSync(process.execPath, [join(root, 'scripts/bundle.js')], { cwd: root, stdio: 'inherit' });
  try {
    execFileSync('make', ['-s', '-C', 'native'], { cwd: root, stdio: 'inherit' });
  } catch (e) {
    process.stderr.write(`\nwarning: native build failed (${e.message.split('\n')[0]}); tests that need native/build/* will fail\n`);
  }
};
