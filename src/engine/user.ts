/**
 * `--user` / the image's User as runc's libcontainer (GetExecUser) resolves it against the
 * image's /etc/passwd and /etc/group: `name`, `uid`, `name:group`, `uid:gid`. A name not in the
 * files is an error; a number need not be there. Without an explicit group, the groups that list
 * the user become its supplementary groups.
 */
import { invalidArgument } from '../core/errors';

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const num = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined);

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = num(f[2]);
    const gid = num(f[3]);
    if (uid !== undefined && gid !== undefined) out.push({ name: f[0]!, uid, gid, home: f[5]! });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const gid = num(f[2]);
    if (gid !== undefined) out.push({ name: f[0]!, gid, members: f[3]!.split(',').filter(Boolean) });
  }
  return out;
}

export function resolveUser(spec: string, passwdText: string | undefined, groupText: string | undefined): ExecUser {
  const [userArg = '', groupArg] = spec.split(':', 2) as [string | undefined, string | undefined];
  const passwd = parsePasswd(passwdText);
  const out: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };
  let name = '';
  const byName = (u: string) => passwd.find((p) => p.name === u) ?? (num(u) !== undefined ? passwd.find((p) => p.uid === num(u)) : undefined);
  const entry = byName(userArg || '0');
  if (entry) {
    Object.assign(out, { uid: entry.uid, gid: entry.gid, home: entry.home || '/' });
    name = entry.name;
  } else if (userArg && num(userArg) !== undefined) out.uid = num(userArg)!;
  else if (userArg) throw invalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);

  const groups = parseGroup(groupText);
  if (groupArg !== undefined && groupArg !== '') {
    const g = groups.find((x) => x.name === groupArg || String(x.gid) === groupArg);
    if (g) out.gid = g.gid;
    else if (num(groupArg) !== undefined) out.gid = num(groupArg)!;
    else throw invalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (name) {
    out.additionalGids = groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  }
  return out;
}
