/**
 * berth's native programs (native/build/NAME): the path in `envVar` when set, else found in
 * native/build upwards from this file (src/ under ts-jest, dist/ when built, a bundle's dir), and
 * remembered. undefined when it is not built.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const found = new Map<string, string>();

export function findNativeBin(name: string, envVar: string): string | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const known = found.get(name);
  if (known) return known;
  for (let d = __dirname; ; d = dirname(d)) {
    const p = join(d, 'native', 'build', name);
    if (existsSync(p)) {
      found.set(name, p);
      return p;
    }
    if (dirname(d) === d) return undefined;
  }
}
