// ESLint (flat config): the layer rule (lint/layers.mjs) plus the recommended JS and TypeScript rules.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import berth from './lint/layers.mjs';

/**
 * The layers of src/, bottom up: a folder imports only from folders of a lower layer (sub-folders
 * belong to their folder's layer; the longest matching folder wins). L<n>+ sits just above L<n>.
 * The client stack (C<n>) imports lower client layers and L0–L1 only: never services/, metadata/,
 * daemon/ or the L2–L5 implementation folders.
 */
export const LAYERS = [
  { dir: 'core', layer: 'L0' }, //          vocabulary: errors, digests, identifiers, filters, labels, Ctx, logger; pure
  { dir: 'core/node', layer: 'L0+' }, //    core's I/O helpers (files); the only part of core that may touch node:fs and co.
  { dir: 'api', layer: 'L1' }, //           wire types and descriptors from proto/, Any pack/unpack
  { dir: 'transport', layer: 'L1' }, //     h2/ and grpc/: frames, HPACK, flow control, call interface, server, client channel
  { dir: 'content', layer: 'L2' }, //       content types, interfaces and the local store
  { dir: 'snapshotter', layer: 'L2' }, //   snapshotter types and the overlay/native backends
  { dir: 'events', layer: 'L2' }, //        event types and the exchange
  { dir: 'images', layer: 'L2' }, //        image types and store interface
  { dir: 'containers', layer: 'L2' }, //    container types and store interface
  { dir: 'metadata', layer: 'L3' }, //      LevelDB stores, leases, GC
  { dir: 'diff', layer: 'L3' }, //          layer apply and staging (berth-unpack)
  { dir: 'tasks', layer: 'L3' }, //         tasks, the native helper and its monitors
  { dir: 'remotes', layer: 'L3' }, //       registry client
  { dir: 'net', layer: 'L3' }, //           host networking: CNI plugin runner, network namespaces, iptables, port holds, DNS server
  { dir: 'rootfs', layer: 'L3' }, //        a container's filesystem through berth-rootfs: copy-up, stat, cp in and out
  { dir: 'transfer', layer: 'L4' }, //      pull/push/import/export
  { dir: 'volumes', layer: 'L4' }, //       the engine's volumes: local driver, records and users, copy-up
  { dir: 'engine', layer: 'L5' }, //        Docker-like semantics in the daemon
  { dir: 'services', layer: 'L6' }, //      gRPC adapters
  { dir: 'docker', layer: 'L6' }, //        (later) Docker Engine API
  { dir: 'cri', layer: 'L6' }, //           (later) Kubernetes CRI
  { dir: 'daemon', layer: 'L7' }, //        composition root, berthd's entry
  { dir: 'client', layer: 'C1' }, //        typed client library
  { dir: 'cli', layer: 'C2' }, //           the `berth` command
];

/** Imports across one layer (or up) that are allowed anyway, each with its reason. */
/** @type {Array<{ from: string; to: string; typeOnly?: boolean; why: string }>} */
export const ALLOW = [
  {
    from: 'cli/commands/image/credentials.ts',
    to: 'remotes/auth/docker-config.ts',
    why: "berth pull/push answer berthd's AuthRequests from the user's Docker config, read the way berthd reads its own (credHelpers, credsStore, auths); the module is self-contained and loads only for pull and push",
  },
];

/** Folders that others may import only through their index.ts (their public surface). */
export const ENTRIES = [{ dir: 'transport', why: 'services see the transport-neutral call interface, not the HTTP/2 internals (issue 12)' }];

/** Packages allowed only in the places named (paths relative to src/; a trailing / means a folder). */
export const PACKAGES = [
  { name: 'level', only: ['metadata/', 'snapshotter/storage.ts'], why: 'LevelDB stays behind the metadata stores and the snapshotters’ own index' },
  {
    name: 'node:child_process',
    only: ['tasks/helper/', 'diff/unpack.ts', 'diff/compute.ts', 'snapshotter/native.ts', 'rootfs/process.ts', 'remotes/auth/docker-config.ts', 'net/exec.ts'],
    why: 'processes are the native helper and its launcher, berth-unpack, berth-diff and berth-rootfs, the native snapshotter’s `cp -a --reflink`, docker’s `docker-credential-*` helpers, and networking’s CNI plugins, iptables, ip, unshare and umount (net/exec.ts runs them all, with deadlines)',
  },
  {
    name: '@grpc/*',
    // Client-side compatibility only, never loaded by berthd: api/reflect.ts builds grpc-js clients
    // (lazily) for tests and benchmarks; services/grpc/status.ts types fromStatus (type import).
    only: ['api/reflect.ts', 'services/grpc/status.ts'],
    why: 'berthd serves gRPC with src/transport; grpc-js is a client for tests and benchmarks',
  },
];

/** Pure layers: node built-ins they may use (computation only); I/O goes to the named sub-layer. */
export const PURE = { core: { io: 'src/core/node/', builtins: ['node:crypto'] } };

export default defineConfig(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'native/**', 'test/fixtures/lint/**', 'src/api/gen/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // require() of package.json (version strings) is fine; modules are imported.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['/package\\.json$'] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { berth },
    rules: {
      'berth/layers': [
        'error',
        { srcDir: 'src', layers: LAYERS, allow: ALLOW, entries: ENTRIES, packages: PACKAGES, pure: PURE, clientBase: 1, outsideAllowed: ['package.json'] },
      ],
      // berthd logs through core/logger (structured, leveled); the CLI writes to process.stdout/stderr.
      'no-console': 'error',
    },
  },
  {
    // reflect.ts loads @grpc/* lazily so that berthd never does (client-side compatibility, see
    // PACKAGES); bin.ts falls back to the modules tsc emitted when the build made no bundle.
    files: ['src/api/reflect.ts', 'src/daemon/bin.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The gRPC call interface's handler types; the transport rework types them (then drop this).
    files: ['src/transport/grpc/{call,call-interface,server}.ts', 'src/services/grpc/{handlers,registry}.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Pure core: no I/O through the process global either (imports are the layer rule's).
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/node/**'],
    rules: { 'no-restricted-globals': ['error', { name: 'process', message: 'core/ is pure: process I/O belongs in core/node/ or the caller.' }] },
  },
  {
    // Tests and benchmarks drive untyped grpc-js clients and mock callbacks.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unsafe-function-type': 'off' },
  },
  {
    // The daemon, grpc-js and the protos load on first use (test/vm's emulated guest pays seconds per module).
    files: ['test/helpers/daemon.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
