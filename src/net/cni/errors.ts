/**
 * A plugin's failure as a berth error. A plugin that fails prints the spec's error object on
 * stdout ({cniVersion, code, msg, details}); its code picks the kind, and what host-local says
 * about a full or taken range is recognised, since those are the user's to fix.
 */
import { SupervisorError, type ErrorKind } from '../../core/errors';
import { describeFailure, type ToolRun } from '../exec';

interface PluginErrorObject {
  code?: unknown;
  msg?: unknown;
  details?: unknown;
}

/** The spec's well-known codes (1–11); 100+ is the plugin's own, 999 (skel's) anything else. */
const KIND_OF_CODE: Record<number, ErrorKind> = {
  1: 'FailedPrecondition', // incompatible CNI version
  2: 'InvalidArgument', // unsupported field in the network configuration
  3: 'NotFound', // container unknown or does not exist
  4: 'InvalidArgument', // invalid necessary environment variables
  5: 'Internal', // I/O failure
  6: 'InvalidArgument', // failed to decode content
  7: 'InvalidArgument', // invalid network config
  11: 'Unavailable', // try again later
};

function kindOf(code: number | undefined, msg: string): ErrorKind {
  if (/no IP addresses available|no more addresses/i.test(msg)) return 'ResourceExhausted';
  if (/requested IP address .* is not available|has been allocated to|already (reserved|allocated)/i.test(msg)) return 'AlreadyExists';
  if (/not in (the )?(range|network)|not part of|failed to allocate all requested IPs/i.test(msg)) return 'InvalidArgument';
  return (code !== undefined && KIND_OF_CODE[code]) || 'Internal';
}

/** Parses the error object a failed plugin printed, if it printed one. */
export function parsePluginError(stdout: string): { code?: number; msg: string; details?: string } | undefined {
  const text = stdout.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const o = JSON.parse(text) as PluginErrorObject;
    const msg = typeof o.msg === 'string' ? o.msg : '';
    if (!msg && o.code === undefined) return undefined;
    return { code: typeof o.code === 'number' ? o.code : undefined, msg, details: typeof o.details === 'string' && o.details ? o.details : undefined };
  } catch {
    return undefined;
  }
}

/** `network net1: plugin bridge ADD failed: <msg> (<details>)`, with the kind the failure calls for. */
export function pluginFailure(network: string, type: string, command: string, run: ToolRun): SupervisorError {
  const e = parsePluginError(run.stdout);
  const what = `network ${network}: CNI plugin ${type} ${command} failed`;
  if (!e) return new SupervisorError('Internal', `${what}: ${describeFailure(run)}`);
  const text = [e.msg, e.details].filter(Boolean).join(': ') || `error code ${e.code}`;
  return new SupervisorError(kindOf(e.code, text), `${what}: ${text}`);
}
