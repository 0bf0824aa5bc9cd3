/**
 * Task stdio requests → helper stdio. containerd's shims accept FIFO paths, `file://` (append to
 * a log file, `ctr run --log-uri`), and `binary://` (spawn a logging program). berthd never
 * spawns a binary named by a client: that is the shape of CVE-2026-53488, so it is rejected.
 */
import { isAbsolute, normalize } from 'node:path';
import { invalidArgument } from '../core/errors';
import type { Stdio } from './helper';

export function stdioFor(uri: string, what: string): Stdio {
  if (!uri) return { kind: 'null' };
  if (uri.startsWith('/')) return { kind: 'fifo', path: normalize(uri) };
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(uri);
  if (!m) throw invalidArgument(`${what}: ${JSON.stringify(uri)} is neither an absolute FIFO path nor a URI`);
  const scheme = m[1]!.toLowerCase();
  let rest = m[2]!;
  if (scheme === 'binary') {
    throw invalidArgument(`${what}: binary:// log URIs are not supported: berthd never runs a logging program named by a client (use file:// or FIFOs)`);
  }
  if (scheme === 'file' || scheme === 'fifo') {
    if (rest.startsWith('localhost/')) rest = rest.slice('localhost'.length);
    rest = rest.split('?')[0]!;
    let path: string;
    try {
      path = decodeURIComponent(rest);
    } catch {
      throw invalidArgument(`${what}: ${JSON.stringify(uri)}: bad percent-encoding`);
    }
    if (!isAbsolute(path) || path.includes('\0')) throw invalidArgument(`${what}: ${JSON.stringify(uri)}: the path must be absolute`);
    return { kind: scheme === 'file' ? 'file' : 'fifo', path: normalize(path) };
  }
  throw invalidArgument(`${what}: unsupported stdio URI scheme ${JSON.stringify(scheme)} (supported: FIFO paths, file://)`);
}
