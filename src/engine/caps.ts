/** Docker's capability rules (oci/caps TweakCapabilities): ALL in --cap-add or --cap-drop, names with or without CAP_. */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../core/errors';
import { CAPABILITIES, capabilityNumber, DEFAULT_CAPABILITIES } from '../tasks/spec';

const ALL = 'ALL';

/**
 * Every capability this kernel has (up to /proc/sys/kernel/cap_last_cap) that berthd can hand on
 * (its own bounding set: one it lacks, e.g. when berthd itself runs in a container, cannot be
 * granted, and asking the kernel for it fails the start).
 */
export function allCapabilities(): string[] {
  let last = CAPABILITIES.length - 1;
  let bounding = (1n << 64n) - 1n;
  try {
    last = Math.min(last, Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()));
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) bounding = BigInt(`0x${m[1]}`);
  } catch {
    /* keep the full list */
  }
  return CAPABILITIES.slice(0, last + 1).filter((_, i) => (bounding >> BigInt(i)) & 1n);
}

function normalize(names: readonly string[]): string[] {
  return names.map((n) => {
    const u = n.trim().toUpperCase();
    if (u === ALL) return ALL;
    const c = u.startsWith('CAP_') ? u : `CAP_${u}`;
    if (capabilityNumber(c) === undefined) throw invalidArgument(`unknown capability: ${JSON.stringify(n)}`);
    return c;
  });
}

export function containerCapabilities(capAdd: readonly string[], capDrop: readonly string[], privileged: boolean): string[] {
  if (privileged) return allCapabilities();
  if (capAdd.length === 0 && capDrop.length === 0) return [...DEFAULT_CAPABILITIES];
  const add = normalize(capAdd);
  const drop = normalize(capDrop);
  if (add.includes(ALL)) return allCapabilities().filter((c) => !drop.includes(c));
  if (drop.includes(ALL)) return [...new Set(add)];
  return [...new Set([...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add])];
}
