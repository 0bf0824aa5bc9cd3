#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} MALLOC_ARENA_MAX=2 node --initial-old-space-size=64 --max-semi-space-size=2 --expose-gc --compact-on-every-full-gc --interrupt-budget=270336
// The flags and the environment: see node-flags.ts and core/node/extra-ca.ts (the shebang cannot import them).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadWithCodeCache } from '../core/node/code-cache';
import { restoreExtraCaForChildren } from '../core/node/extra-ca';

/**
 * berthd's launcher: runs the bundle (berthd.bundle.js, with its code cache; scripts/bundle.js)
 * when the build made one, else the modules tsc emitted beside this file.
 */
restoreExtraCaForChildren();
const BUNDLE = join(__dirname, 'berthd.bundle.js');
const entry = (existsSync(BUNDLE) ? loadWithCodeCache(BUNDLE, require).exports : require('./berthd')) as typeof import('./berthd');
entry.main();
