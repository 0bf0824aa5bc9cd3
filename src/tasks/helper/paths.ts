import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Finds the package root (the dir with package.json) from src/ under ts-jest or from dist/. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const up = dirname(dir);
    if (up === dir) return join(__dirname, '..', '..', '..');
    dir = up;
  }
}

/** native/build/berth-helper, overridable with BERTH_HELPER. */
export function helperPath(): string {
  return process.env.BERTH_HELPER ?? join(packageRoot(), 'native', 'build', 'berth-helper');
}

/** native/build/berth-seccomp (the seccomp profile compiler), overridable with BERTH_SECCOMP. */
export function seccompCompilerPath(): string {
  return process.env.BERTH_SECCOMP ?? join(packageRoot(), 'native', 'build', 'berth-seccomp');
}

export const MONITOR_SOCKET = 'monitor.sock';
/**
 * The longest monitor state dir: `<dir>/monitor.sock` must fit in sockaddr_un's 108-byte sun_path
 * with its NUL (native/helper/monitor.c refuses a longer one at every start).
 */
export const MAX_STATE_DIR_LENGTH = 108 - 1 - `/${MONITOR_SOCKET}`.length;
export const EXIT_FILE = 'exit.json';
