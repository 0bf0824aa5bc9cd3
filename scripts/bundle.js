#!/usr/bin/env node
/**
 * Bundles berthd (src/daemon/berthd.ts) into one file, dist/daemon/berthd.bundle.js, which
 * dist/daemon/bin.js runs, and makes its V8 code cache (src/core/node/code-cache.ts). Loading ~250
 * small modules cost
 * berthd more start-up time than anything it does: each is a resolve, a stat, a read and a
 * compile, and zod's CommonJS entry alone pulls in ~40 locale files. esbuild resolves the ES
 * modules instead (zod, @bufbuild/protobuf, level), drops what is never imported and leaves one
 * file to compile.
 *
 * External: classic-level's native addon (see classicLevelAddon) and the grpc-js client stack,
 * which berthd never loads.
 */
'use strict';
const { build } = require('esbuild');
const { execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
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

/**
 * classic-level's JavaScript goes into the bundle; only its native addon is loaded from
 * node_modules. Left outside, classic-level, abstract-level and their dependencies were ~35 files
 * the CommonJS loader resolved, read and compiled (no code cache) while berthd opened its stores,
 * each module's source and wrapper kept in the heap. node-gyp-build finds the prebuilt addon from
 * the package's directory, which the bundle's require (resolving as from dist/) gives it.
 */
const classicLevelAddon = {
  name: 'classic-level-addon',
  setup(build) {
    build.onResolve({ filter: /^\.\/binding(\.js)?$/ }, (args) => (/[\\/]classic-level[\\/]/.test(args.importer) ? { path: 'binding', namespace: 'classic-level-addon' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'classic-level-addon' }, () => ({
      contents: "module.exports = require('node-gyp-build')(require('node:path').dirname(require.resolve('classic-level/package.json')));",
      loader: 'js',
      resolveDir: ROOT,
    }));
  },
};

/*
 * berthd, and the berth CLI (dist/cli/bin.js runs berth.bundle.js when it is there): a CLI
 * command is a short-lived process whose start-up is most of its time, and the modules tsc
 * emits (~70 for `berth ps`, the transport's server side among them) cost more to find and
 * compile than the command's work.
 */
const ENTRIES = [
  // berthd's cache holds only what loading the bundle compiles: the modules it initializes after
  // binding its socket (open-parts.ts and below) compile lazily then. Deserializing their bytecode
  // too (1.0 MB of cache against 0.73) cost more before the first answer than compiling it after.
  // Names and syntax minified too: V8 keeps a running script's source (for lazy compilation), a
  // third smaller so, and the functions' scope infos hold the names again. berthd logs no stack
  // traces, and a crash's maps back through the source map (node --enable-source-maps). berth's
  // code reads no function's or class's name (its errors set theirs); esbuild's keepNames would
  // keep them at more memory than the names themselves (a defineProperty per function).
  {
    in: 'src/daemon/berthd.ts',
    out: 'dist/daemon/berthd.bundle.js',
    flags: () => require(join(ROOT, 'dist/daemon/node-flags.js')).BERTHD_NODE_FLAGS,
    warm: '',
    minify: true,
  },
  // The cache gets the bytecode of every command module's top level (loadAll), not only bin.ts's.
  { in: 'src/cli/bin.ts', out: 'dist/cli/berth.bundle.js', flags: () => [], warm: '.exports.loadAll()' },
];

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
      external: ['classic-level/package.json', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs'],
      // The file is the module wrapper's function itself (code-cache.ts compiles it as it is: no
      // second copy of the source to wrap), and ASCII without comments: V8 then keeps the
      // source, which it needs for lazy compilation, as a one-byte string (half the memory).
      banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
      footer: { js: '})' },
      minifyWhitespace: true,
      minifySyntax: !!e.minify,
      minifyIdentifiers: !!e.minify,
      charset: 'ascii',
      sourcemap: 'linked',
      sourcesContent: false,
      legalComments: 'none',
      plugins: [zodEnglishOnly, classicLevelAddon],
      logLevel: 'warning',
    });
  }
  for (const e of ENTRIES) codeCache(join(ROOT, e.out), e.flags(), e.warm);
}

/**
 * Runs the bundle's module code (not berthd's main) with berthd's node flags, as bin.js will, and
 * saves V8's bytecode: V8 accepts a cache only under the flags it was made with.
 */
function codeCache(bundle, flags, warm) {
  const cache = `${bundle}.cache`;
  rmSync(cache, { force: true });
  // warm: what the entry runs before the cache is saved (the CLI: every command's module).
  const script = `const l = require(${JSON.stringify(join(ROOT, 'dist/core/node/code-cache.js'))}).loadWithCodeCache(${JSON.stringify(bundle)}); Promise.resolve(l${warm}).then(() => l.saveCache())`;
  execFileSync(process.execPath, [...flags, '-e', script], { stdio: 'inherit' });
}

main().catch((e) => {
  process.stderr.write(`bundle: ${e.message}\n`);
  process.exit(1);
});
