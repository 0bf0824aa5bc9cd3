// Builds dist/ (incrementally) and the native parts once before any test, so tests that spawn the
// real berthd binary or the helper never run stale code.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
module.exports = async () => {
  const root = join(__dirname, '..');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync('make', ['-s', '-C', 'native'], { cwd: root, stdio: 'inherit' });
};
