#!/usr/bin/env node
/**
 * Bundles berthd's entry point into one file, dist/daemon/bin.js (tsc emits every other module;
 * tsconfig.build.json leaves this entry point to this script). Loading ~250 small modules cost
 * berthd more start-up time than anything it does: each is a resolve, a stat, a read and a
 * compile, and zod's CommonJS entry alone pulls in ~40 locale files. esbuild resolves the ES
 * modules instead (zod, @bufbuild/protobuf, level), drops what is never imported and leaves one
 * file to compile.
 *
 * External: classic-level (a native addon that finds its prebuilt binary from its own path) and
 * the grpc-js client stack, which berthd never loads.
 */
'use strict';
const { build } = require('esbuild');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

/**
 * zod's `z` namespace re-exports its ~40 message locales (360 KB, half of zod in the bundle);
 * berthd only ever uses the English one zod configures itself, so the locale index resolves to
 * just that.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]/.test(args.importer) ? { path: args.importer, namespace: 'zod-locales' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(args.path, '..', '..', 'locales', 'en.js'))};`,
      loader: 'js',
      resolveDir: ROOT,
    }));
  },
};

const ENTRIES = [{ in: 'src/daemon/bin.ts', out: 'dist/daemon/bin.js' }];

async function main() {
  for (const e of ENTRIES) {
    await build({
      absWorkingDir: ROOT,
      entryPoints: [e.in],
      outfile: e.out,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // ES module builds where a package has both: tree shaking works on those.
      mainFields: ['module', 'main'],
      external: ['classic-level', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs'],
      sourcemap: 'linked',
      sourcesContent: false,
      legalComments: 'none',
      plugins: [zodEnglishOnly],
      logLevel: 'warning',
    });
  }
}

main().catch((e) => {
  process.stderr.write(`bundle: ${e.message}\n`);
  process.exit(1);
});
