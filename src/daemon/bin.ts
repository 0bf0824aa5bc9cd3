#!/usr/bin/env -S node --initial-old-space-size=64
// The flag: see node-flags.ts (the shebang cannot import it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadWithCodeCache } from './code-cache';

/**
 * berthd's launcher: runs the bundle (berthd.bundle.js, with its code cache; scripts/bundle.js)
 * when the build made one, else the modules tsc emitted beside this file.
 */
const BUNDLE = join(__dirname, 'berthd.bundle.js');
const entry = (existsSync(BUNDLE) ? loadWithCodeCache(BUNDLE).exports : require('./berthd')) as typeof import('./berthd');
entry.main();
