/**
 * Version's revision is read from the checkout's git files (no git process): a plain clone's
 * `.git` directory, and a worktree's `.git` file whose branch refs live in the main repository.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { versionInfo } from '../../src/daemon/version-info';

const SHA = 'a'.repeat(40);
const PACKED = 'b'.repeat(40);

describe('versionInfo', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-version-'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ version: '9.8.7' }));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads the branch ref of a .git directory, loose or packed, and a detached HEAD', async () => {
    await mkdir(join(dir, '.git', 'refs', 'heads'), { recursive: true });
    await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(dir, '.git', 'refs', 'heads', 'main'), SHA + '\n');
    expect(versionInfo(dir)).toEqual({ version: 'berth-9.8.7', revision: SHA });

    await rm(join(dir, '.git', 'refs', 'heads', 'main'));
    await writeFile(join(dir, '.git', 'packed-refs'), `# pack-refs\n${PACKED} refs/heads/main\n`);
    expect(versionInfo(dir).revision).toBe(PACKED);

    await writeFile(join(dir, '.git', 'HEAD'), SHA + '\n');
    expect(versionInfo(dir).revision).toBe(SHA);
  });

  it("follows a worktree's .git file to its git dir and reads the ref from the common dir", async () => {
    const common = join(dir, 'repo.git');
    const wtGit = join(common, 'worktrees', 'wt');
    await mkdir(join(common, 'refs', 'heads'), { recursive: true });
    await mkdir(wtGit, { recursive: true });
    await writeFile(join(common, 'refs', 'heads', 'topic'), SHA + '\n');
    await writeFile(join(wtGit, 'HEAD'), 'ref: refs/heads/topic\n');
    await writeFile(join(wtGit, 'commondir'), '../..\n');
    await writeFile(join(dir, '.git'), `gitdir: ${wtGit}\n`);
    expect(versionInfo(dir)).toEqual({ version: 'berth-9.8.7', revision: SHA });
  });

  it('falls back to the version when there is no checkout, and to 0.0.0 without package.json', async () => {
    expect(versionInfo(dir)).toEqual({ version: 'berth-9.8.7', revision: 'berth-9.8.7' });
    await rm(join(dir, 'package.json'));
    expect(versionInfo(dir)).toEqual({ version: 'berth-0.0.0', revision: 'berth-0.0.0' });
  });
});
