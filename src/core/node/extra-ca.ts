import { readFileSync } from 'node:fs';

/**
 * NODE_EXTRA_CA_CERTS without its start-up cost. Node 20 reads the file it names, and builds its
 * whole root store, before any script runs: ~50 ms of every process start (and of every `berth`
 * command) on a host that names its system bundle there, whether or not the process ever speaks
 * TLS; most berth processes never do (the CLI talks to berthd over a unix socket, berthd to a
 * registry only on a pull or push).
 *
 * So the launchers start node without the variable and hand its file over in DEFERRED_CA_ENV:
 * the bins' shebangs through `env -S` (SHEBANG_DEFER_CA), the test and bench launchers through
 * withDeferredExtraCa. A launched process puts the variable back for its children
 * (restoreExtraCaForChildren) and adds the file's certificates to the roots it trusts when it
 * first makes a TLS connection (trustedCa). A process started with the variable still
 * set (plain `node bin.js`) has them from Node itself.
 */
export const DEFERRED_CA_ENV = 'BERTH_EXTRA_CA_CERTS';

/** What the bins' shebangs give `env -S` before the rest: node starts without the variable. */
export const SHEBANG_DEFER_CA = `-u NODE_EXTRA_CA_CERTS ${DEFERRED_CA_ENV}=\${NODE_EXTRA_CA_CERTS}`;

/** The environment a launcher gives node for a berth bin: what the shebang does to `env`. */
export function withDeferredExtraCa(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: file, ...rest } = env;
  return { ...rest, [DEFERRED_CA_ENV]: file ?? '' };
}

/**
 * Run by a bin first: its children (credential helpers, say) see NODE_EXTRA_CA_CERTS as the user
 * set it. The deferred name stays set while it names a file, so this process still knows that
 * Node did not load it.
 */
export function restoreExtraCaForChildren(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[DEFERRED_CA_ENV];
  if (file) env.NODE_EXTRA_CA_CERTS ??= file;
  else delete env[DEFERRED_CA_ENV];
}

let read: { file: string; pem: string | undefined } | undefined;

/**
 * The deferred file's certificates (PEM text), read once; undefined when nothing was deferred.
 * A file that cannot be read is reported and skipped, as Node does with the variable.
 */
export function deferredExtraCa(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[DEFERRED_CA_ENV];
  if (!file) return undefined;
  if (read?.file !== file) {
    let pem: string | undefined;
    try {
      pem = readFileSync(file, 'latin1');
    } catch (e) {
      process.emitWarning(`Ignoring extra certs from ${file}, load failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    read = { file, pem };
  }
  return read.pem;
}

/**
 * The `ca` a TLS client passes (Node's own roots, the deferred file's certificates, and `own`, a
 * CA configured for the one host), or undefined when Node's default store already is the answer.
 * `ca` replaces the default store, hence the roots.
 */
export function trustedCa(roots: readonly string[], own?: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const extra = deferredExtraCa(env);
  if (extra === undefined && own === undefined) return undefined;
  return [...roots, ...(extra === undefined ? [] : [extra]), ...(own === undefined ? [] : [own])];
}
