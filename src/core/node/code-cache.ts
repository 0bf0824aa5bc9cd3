/**
 * Loads a CommonJS file through V8's code cache (Node 20 has no module.enableCompileCache).
 * berthd's bundle is ~1.3 MB of JavaScript: compiling it, and then lazily each function its
 * start-up runs, was the largest part of start-up after node's own. The build runs the bundle's
 * module code once with berthd's node flags and saves the bytecode V8 made by then (scripts/
 * bundle.js); each start deserializes that instead. V8 refuses a cache from another V8 version or
 * other V8 flags (`rejected`), and the file then compiles as usual.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

export interface Loaded {
  exports: unknown;
  /** The cache was missing, or V8 refused it. */
  rejected: boolean;
  /** Writes the bytecode V8 has made so far (the module code's and every function it ran). */
  saveCache(): void;
}

/**
 * `file` holds a CommonJS module already wrapped: `(function (exports, require, module,
 * __filename, __dirname) {…})`, as scripts/bundle.js writes it: ASCII only, so it is read as
 * latin1, a plain copy into a one-byte string (UTF-8 decoding of the 1.2–1.8 MB bundles took
 * ~2 ms more). V8 refuses a cache made from the same text read otherwise: make and use it here.
 * `req` is the module's require: one that resolves as a module in `file`'s directory would (a
 * launcher beside the bundle passes its own), else one made by createRequire.
 */
export function loadWithCodeCache(file: string, req?: NodeRequire, cacheFile = `${file}.cache`): Loaded {
  const source = readFileSync(file, 'latin1');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(source, { filename: file, cachedData });
  const mod = { exports: {} as unknown, filename: file, id: file, loaded: false };
  const fn = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: unknown, filename: string, dirname: string) => void;
  // A launcher beside the bundle passes its own require (it resolves as the bundle's would): node:module,
  // compiled from source under berthd's V8 flags, costs ~3 ms of start-up.
  const bundleRequire = req ?? (require('node:module') as typeof import('node:module')).createRequire(file); // eslint-disable-line @typescript-eslint/no-require-imports
  fn.call(mod.exports, mod.exports, bundleRequire, mod, file, dirname(file));
  mod.loaded = true;
  return {
    exports: mod.exports,
    rejected: cachedData === undefined || script.cachedDataRejected === true,
    saveCache: () => writeFileSync(cacheFile, script.createCachedData()),
  };
}
