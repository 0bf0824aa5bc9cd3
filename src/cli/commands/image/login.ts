/**
 * `berth login`: checks the credentials with the registry, then stores them in Docker's client
 * config (credentials.ts), where berth's pull and push and the docker CLI find them.
 */
import { CliError, defineCommand } from '../../command';
import { checkLogin } from './registry-check';
import { configKey, storeLogin } from './credentials';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export const command = defineCommand({
  usage: '[OPTIONS] [SERVER]',
  summary: 'Log in to a registry',
  description:
    "If no server is specified, Docker Hub's is used. Credentials are stored in $DOCKER_CONFIG/config.json (default ~/.docker/config.json), Docker's own file.",
  maxArgs: 1,
  flags: {
    username: { type: 'string', short: 'u', desc: 'Username', placeholder: 'string' },
    password: { type: 'string', short: 'p', desc: 'Password', placeholder: 'string' },
    passwordStdin: { type: 'bool', desc: 'Take the password from stdin' },
  },
  async run(cli, f, [server]) {
    if (f.password !== undefined && f.passwordStdin) throw new CliError('--password and --password-stdin are mutually exclusive', 125);
    if (f.passwordStdin && !f.username) throw new CliError('Must provide --username with --password-stdin', 125);
    if (!f.username) throw new CliError('Must provide --username (berth login does not prompt)', 125);
    const password = f.passwordStdin ? await readStdin() : f.password;
    if (!password) throw new CliError('Must provide --password or --password-stdin', 125);
    if (f.password !== undefined) await cli.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    const key = configKey(server);
    await checkLogin(key === 'https://index.docker.io/v1/' ? 'registry-1.docker.io' : key, f.username, password);
    await storeLogin(key, f.username, password);
    await cli.out('Login Succeeded\n');
  },
});
