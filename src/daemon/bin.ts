#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --initial-old-space-size=64 --max-semi-space-size=2 --expose-gc --compact-on-every-full-gc
// The flags and the environment: see node-flags.ts (the shebang cannot import them).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadWithCodeCache } from '../core/node/code-cache';

/**
 * berthd's launcher: runs the bundle (berthd.bundle.js, with its code cache; scripts/bundle.js)
 * when the build made one, else the modules tsc emitted beside this file.
 */
const BUNDLE = join(__dirname, 'berthd.bundle.js');
const entry = (existsSync(BUNDLE) ? loadWithCodeCache(BUNDLE, require).exports : require('./berthd')) as typeof import('./berthd');
entry.main();
