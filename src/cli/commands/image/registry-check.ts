/**
 * What `berth login` asks the registry before it stores anything: GET /v2/ with the credentials,
 * following a Bearer challenge to its realm (Docker's flow). Plain HTTP for loopback hosts (as
 * berthd uses them), HTTPS otherwise.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { trustedCa } from '../../../core/node/extra-ca';
import { CliError } from '../../command';

function get(url: string, headers: Record<string, string>): Promise<{ status: number; challenge: string }> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:');
    const ca = https ? trustedCa(rootCertificates) : undefined;
    const req = (https ? httpsRequest : httpRequest)(url, { headers, timeout: 15_000, ...(ca ? { ca } : {}) }, (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, challenge: String(res.headers['www-authenticate'] ?? '') });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function params(challenge: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out;
}

const isLoopback = (host: string) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);

export async function checkLogin(host: string, username: string, password: string): Promise<void> {
  const base = `${isLoopback(host) ? 'http' : 'https'}://${host}/v2/`;
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let r;
  try {
    r = await get(base, {});
    if (r.status === 401 && /^basic/i.test(r.challenge)) r = await get(base, { authorization: basic });
    else if (r.status === 401 && /^bearer/i.test(r.challenge)) {
      const p = params(r.challenge);
      if (!p.realm) throw new CliError(`login to ${host}: the registry's Bearer challenge names no realm`);
      const u = new URL(p.realm);
      if (p.service) u.searchParams.set('service', p.service);
      u.searchParams.set('account', username);
      r = await get(u.toString(), { authorization: basic });
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`Error response from daemon: Get "${base}": ${(e as Error).message}`);
  }
  if (r.status === 401 || r.status === 403)
    throw new CliError(
      `Error response from daemon: login attempt to ${base} failed with status: ${r.status} ${r.status === 401 ? 'Unauthorized' : 'Forbidden'}`,
    );
  if (r.status < 200 || r.status >= 300) throw new CliError(`Error response from daemon: login to ${host}: the registry answered ${r.status}`);
}
