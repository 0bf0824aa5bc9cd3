/**
 * Three projects, by what their tests need from the machine (test/helpers/requires.ts says what
 * each test needs; in CI an unmet need fails it):
 *   unit     in-process or the berthd binary only: no root, no other program
 *   root     the real kernel as root: mounts, namespaces, cgroups, berth-helper and berth-unpack
 *   interop  real clients and peers beside berthd: ctr, containerd, docker-registry, skopeo
 * `npm test` runs all three (after lint and the typecheck); `npm run test:unit` etc. one of them.
 * A test file not listed under root or interop is a unit test. Tests run serially (--runInBand):
 * many use the real kernel, mounts and one registry.
 */
// Test files by path, relative to the repository (regular expressions).
const ROOT = [
  'test/native/.*',
  'test/snapshotter/.*',
  'test/diff/(?!ctr-).*',
  'test/tasks/tasks-service',
  'test/services/diff',
  'test/services/engine-service',
  'test/services/engine-parity-service',
  'test/fixtures/tree',
  'test/engine/(?!commit).*',
  'test/cli/.*',
  'test/net/cni-runner',
  'test/net/native-bridge',
  'test/network/.*',
  'test/rootfs/.*',
  'test/vm/.*',
];
const INTEROP = [
  'test/interop/.*',
  'test/diff/ctr-.*',
  'test/fixtures/containerd',
  'test/engine/commit',
  'test/remotes/registry-.*',
  'test/transfer/(pull|pull-crash|push|archive)',
  'test/services/transfer-registry',
];

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const files = (res) => res.map((r) => `^${escapeRe(__dirname)}/${r}\\.test\\.ts$`);

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    // isolatedModules (tsconfig): type checking is `npm run typecheck`'s job; this keeps jest fast on 2 cores.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', ...files([...ROOT, ...INTEROP])] },
    { ...common, displayName: 'root', testRegex: files(ROOT) },
    { ...common, displayName: 'interop', testRegex: files(INTEROP) },
  ],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/global-setup.js',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
