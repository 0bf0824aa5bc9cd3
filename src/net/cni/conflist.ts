/** Reading a conflist: the checks libcni makes before it runs anything, with berth's messages. */
import { invalidArgument } from '../../core/errors';
import { CNI_ID, CNI_VERSIONS, type NetConfList, type PluginConf } from './types';

const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a parsed conflist (`source` names it in errors) and returns it typed. */
export function parseConfList(value: unknown, source: string): NetConfList {
  const bad = (why: string) => invalidArgument(`CNI config ${source}: ${why}`);
  if (!isObject(value)) throw bad('not a JSON object');
  const { name, cniVersion, plugins, disableCheck } = value;
  if (typeof name !== 'string' || !CNI_ID.test(name)) throw bad(`invalid network name ${JSON.stringify(name)}`);
  if (typeof cniVersion !== 'string' || !CNI_VERSIONS.includes(cniVersion))
    throw bad(`cniVersion ${JSON.stringify(cniVersion)} is not one of ${CNI_VERSIONS.join(', ')}`);
  if (disableCheck !== undefined && typeof disableCheck !== 'boolean') throw bad('disableCheck must be a boolean');
  if (!Array.isArray(plugins) || plugins.length === 0) throw bad('no plugins');
  const list: PluginConf[] = plugins.map((p, i) => {
    if (!isObject(p)) throw bad(`plugins[${i}] is not an object`);
    // A type is a file name in the plugin directories: never a path.
    if (typeof p.type !== 'string' || !PLUGIN_TYPE.test(p.type)) throw bad(`plugins[${i}].type ${JSON.stringify(p.type)} is not a plugin name`);
    if (p.capabilities !== undefined && (!isObject(p.capabilities) || Object.values(p.capabilities).some((c) => typeof c !== 'boolean')))
      throw bad(`plugins[${i}].capabilities must map names to booleans`);
    return p as PluginConf;
  });
  return { ...value, name, cniVersion, plugins: list, ...(disableCheck !== undefined ? { disableCheck } : {}) };
}

/** parseConfList of a file's text. */
export function parseConfListText(text: string, source: string): NetConfList {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`CNI config ${source}: not JSON (${(e as Error).message})`);
  }
  return parseConfList(v, source);
}

/** a.b.c ≥ x.y.z */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
