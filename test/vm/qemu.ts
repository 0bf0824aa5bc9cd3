/**
 * Boots the Debian kernel under qemu's software emulation (TCG: a KVM guest hangs on this host
 * after EDD probing) with the host's root shared read-only over virtio-9p and `workDir` shared
 * writable at /vmwork. The serial console is collected; the guest ends by printing
 * `BERTH-VM-EXIT <status>` and powering off.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInitramfs, findGuestKernel, type GuestKernel } from './initramfs';

export const QEMU = '/usr/bin/qemu-system-x86_64';
export const BUSYBOX = '/bin/busybox';

export interface BootResult {
  /** The status guest-init.sh reported (run.sh's), or undefined if the guest never reported one. */
  status?: number;
  console: string;
  seconds: number;
}

export interface BootOptions {
  workDir: string;
  /** Absolute path of the second stage in the host's root (test/vm/guest-init.sh). */
  stage2: string;
  timeoutMs: number;
  memoryMiB?: number;
  cpus?: number;
  kernel?: GuestKernel;
  onConsole?: (chunk: string) => void;
}

/** Why the VM cannot boot here, or undefined when it can. */
export function vmUnavailable(): string | undefined {
  if (spawnSync(QEMU, ['--version']).status !== 0) return `${QEMU} is missing (Debian package qemu-system-x86)`;
  if (!findGuestKernel()) return 'no /boot/vmlinuz-<v> with /lib/modules/<v> (Debian package linux-image-amd64)';
  return undefined;
}

export async function bootVm(o: BootOptions): Promise<BootResult> {
  const kernel = o.kernel ?? findGuestKernel();
  if (!kernel) throw new Error(vmUnavailable());
  const initrd = join(o.workDir, 'initramfs.cpio');
  writeFileSync(initrd, buildInitramfs(kernel, BUSYBOX, o.stage2));
  // The guest's /tmp (ext4, sparse), and the block device the io controller tests limit.
  const disk = join(o.workDir, 'scratch.img');
  closeSync(openSync(disk, 'w'));
  truncateSync(disk, 1 << 30);
  const args = [
    '-accel',
    'tcg',
    '-m',
    String(o.memoryMiB ?? 3072),
    '-smp',
    String(o.cpus ?? 2),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    kernel.image,
    '-initrd',
    initrd,
    // cgroup_no_v1=all: no v1 hierarchy can be mounted, as on a host that boots v2 only.
    '-append',
    'console=ttyS0 quiet loglevel=4 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${o.workDir},mount_tag=vmwork,security_model=none`,
    '-drive',
    `file=${disk},if=virtio,format=raw`,
  ];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (b: Buffer) => {
      const s = b.toString();
      out += s;
      o.onConsole?.(s);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      out += `\n[berth-vm: timed out after ${o.timeoutMs} ms, killing qemu]\n`;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', () => {
      clearTimeout(timer);
      const m = /BERTH-VM-EXIT (\d+)/.exec(out);
      resolve({ status: m ? Number(m[1]) : undefined, console: out, seconds: (Date.now() - started) / 1000 });
    });
  });
}
