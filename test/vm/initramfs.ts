/**
 * The guest's first stage: an initramfs (newc cpio, uncompressed) holding the host's static
 * busybox, the Debian kernel's virtio/9p/overlay modules (they are modules, not built in) and an
 * /init script that mounts the host's root read-only over 9p, puts a tmpfs overlay on it for writes
 * and switches into it to run the second stage (guest-init.sh).
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the guest needs: virtio-pci transport, 9p over virtio, overlayfs, a virtio disk (for io.max). */
const WANTED = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'virtio_blk'];

export interface GuestKernel {
  version: string;
  image: string;
  modules: string;
}

/**
 * The installed Debian kernel (linux-image-amd64): the newest /boot/vmlinuz-<v> whose modules are in
 * /lib/modules/<v>. Not the running kernel's, which need not be a Debian one.
 */
export function findGuestKernel(): GuestKernel | undefined {
  if (!existsSync('/boot') || !existsSync('/lib/modules')) return undefined;
  const versions = readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join('/lib/modules', v, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const version = versions.at(-1);
  return version === undefined ? undefined : { version, image: join('/boot', `vmlinuz-${version}`), modules: join('/lib/modules', version) };
}

/** Module files (relative to the modules dir) in load order: dependencies first, from modules.dep. */
export function moduleLoadOrder(modulesDir: string, wanted: string[] = WANTED): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (!mod || rest === undefined) continue;
    deps.set(mod, rest.trim().split(/\s+/).filter(Boolean));
    byName.set(
      mod
        .slice(mod.lastIndexOf('/') + 1)
        .replace(/\.ko(\.\w+)?$/, '')
        .replace(/-/g, '_'),
      mod,
    );
  }
  const out: string[] = [];
  const visit = (mod: string) => {
    if (out.includes(mod)) return;
    for (const d of deps.get(mod) ?? []) visit(d);
    out.push(mod);
  };
  for (const name of wanted) {
    const mod = byName.get(name);
    if (mod === undefined) continue; // built into this kernel
    if (!mod.endsWith('.ko')) throw new Error(`module ${mod}: compressed modules need a decompressor in the initramfs`);
    visit(mod);
  }
  return out;
}

interface Entry {
  name: string;
  mode: number;
  data?: Buffer;
  rdev?: [number, number];
}

/** newc cpio: a 110-byte ASCII header per entry, name and data each padded to 4 bytes. */
export function cpioNewc(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const add = (e: Entry) => {
    const data = e.data ?? Buffer.alloc(0);
    const hex = (v: number) => v.toString(16).padStart(8, '0');
    const name = Buffer.from(`${e.name}\0`);
    const fields = [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
    const head = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
    parts.push(head, name, pad(head.length + name.length), data, pad(data.length));
  };
  for (const e of entries) add(e);
  add({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

/** The /init of the initramfs. `stage2` is run (as PID 1) in the switched-to root. */
function initScript(modules: string[], stage2: string): string {
  return `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t devtmpfs dev /dev
for m in ${modules.map((m) => m.slice(m.lastIndexOf('/') + 1)).join(' ')}; do
  $B insmod /modules/$m || echo "berth-vm: insmod $m failed"
done
fail() { echo "berth-vm: stage 1: $*"; echo "BERTH-VM-EXIT 90"; $B poweroff -f; }
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host || fail "9p host root"
$B mount -t tmpfs -o size=3g,mode=755 rw /rw || fail tmpfs
$B mkdir -p /rw/upper /rw/work
$B mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail overlay
$B mkdir -p /newroot/vmwork
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmwork /newroot/vmwork || fail "9p work dir"
$B umount /proc
exec $B switch_root /newroot /bin/sh ${stage2}
`;
}

/** Builds the initramfs for `kernel`; `stage2` is an absolute path in the host's (= guest's) root. */
export function buildInitramfs(kernel: GuestKernel, busybox: string, stage2: string): Buffer {
  const modules = moduleLoadOrder(kernel.modules);
  const entries: Entry[] = [];
  for (const d of ['bin', 'dev', 'proc', 'host', 'rw', 'newroot', 'modules']) entries.push({ name: d, mode: S_IFDIR | 0o755 });
  entries.push({ name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] });
  entries.push({ name: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busybox) });
  for (const m of modules) {
    const path = join(kernel.modules, m);
    if (!statSync(path).isFile()) throw new Error(`module ${path} missing`);
    entries.push({ name: `modules/${m.slice(m.lastIndexOf('/') + 1)}`, mode: S_IFREG | 0o644, data: readFileSync(path) });
  }
  entries.push({ name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(initScript(modules, stage2)) });
  return Buffer.concat([cpioNewc(entries)]);
}
