import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFERRED_CA_ENV, deferredExtraCa, restoreExtraCaForChildren, trustedCa, withDeferredExtraCa } from '../../src/core/node/extra-ca';

const REPO = join(__dirname, '..', '..');
const PROBE = 'JSON.stringify({ node: process.env.NODE_EXTRA_CA_CERTS ?? null, deferred: process.env.BERTH_EXTRA_CA_CERTS ?? null })';

/** What node sees when `env` runs a bin's shebang line (the kernel passes its argument whole). */
function underShebang(bin: string, env: NodeJS.ProcessEnv): { node: string | null; deferred: string | null } {
  const line = readFileSync(join(REPO, 'src', bin, 'bin.ts'), 'utf8').split('\n', 1)[0]!;
  expect(line.startsWith('#!/usr/bin/env -S ')).toBe(true);
  const r = spawnSync('/usr/bin/env', [line.slice('#!/usr/bin/env '.length), '-p', PROBE], { env, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('NODE_EXTRA_CA_CERTS, deferred by the launchers', () => {
  const base = { PATH: process.env.PATH };
  it.each(['daemon', 'cli'])("%s/bin.ts's shebang starts node without the variable and hands its file over, as withDeferredExtraCa does", (bin) => {
    const set = { ...base, NODE_EXTRA_CA_CERTS: '/etc/a b.pem' };
    expect(underShebang(bin, set)).toEqual({ node: null, deferred: '/etc/a b.pem' });
    expect(withDeferredExtraCa(set)).toEqual({ ...base, [DEFERRED_CA_ENV]: '/etc/a b.pem' });
    expect(underShebang(bin, base)).toEqual({ node: null, deferred: '' });
    expect(withDeferredExtraCa(base)).toEqual({ ...base, [DEFERRED_CA_ENV]: '' });
  });

  it('a launched process gives its children the variable back, and drops the empty hand-over', () => {
    const deferred: NodeJS.ProcessEnv = { [DEFERRED_CA_ENV]: '/f.pem' };
    restoreExtraCaForChildren(deferred);
    expect(deferred).toEqual({ NODE_EXTRA_CA_CERTS: '/f.pem', [DEFERRED_CA_ENV]: '/f.pem' });
    const none: NodeJS.ProcessEnv = { [DEFERRED_CA_ENV]: '' };
    restoreExtraCaForChildren(none);
    expect(none).toEqual({});
  });

  it("the deferred file's certificates join Node's roots; nothing deferred leaves Node's default store", () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-extra-ca-'));
    try {
      const file = join(dir, 'ca.pem');
      writeFileSync(file, '-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n');
      const env = { [DEFERRED_CA_ENV]: file };
      expect(deferredExtraCa(env)).toContain('extra');
      expect(trustedCa(['root'], undefined, env)).toEqual(['root', expect.stringContaining('extra')]);
      expect(trustedCa(['root'], 'own', env)).toEqual(['root', expect.stringContaining('extra'), 'own']);
      expect(trustedCa(['root'], undefined, {})).toBeUndefined();
      expect(trustedCa(['root'], 'own', {})).toEqual(['root', 'own']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file that cannot be read is reported and skipped, as Node does with the variable', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(deferredExtraCa({ [DEFERRED_CA_ENV]: '/nonexistent/berth-ca.pem' })).toBeUndefined();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Ignoring extra certs from \/nonexistent\/berth-ca\.pem, load failed: .*ENOENT/));
    } finally {
      warn.mockRestore();
    }
  });
});
