/** Pull/push progress as the CLI prints it: rows redrawn in place on a terminal, one line per state change otherwise. */
import type { Progress } from '../../src/client';
import { ProgressView } from '../../src/cli/commands/image/progress-view';

const L1 = `sha256:${'a'.repeat(64)}`;
const L2 = `sha256:${'b'.repeat(64)}`;
const ev = (event: string, name: string, progress = 0, total = 0): Progress => ({ event, name, parents: [], progress, total });

async function render(tty: boolean, events: Progress[]): Promise<string> {
  let out = '';
  const v = new ProgressView(async (s) => void (out += s), tty);
  events.forEach(v.onProgress);
  await v.flush();
  return out;
}

const EVENTS = [
  ev('resolving', 'x:1'),
  ev('downloading', L1, 0, 3_000_000),
  ev('downloading', L1, 1_500_000, 3_000_000),
  ev('downloading', L2, 0, 1000),
  ev('downloading', L1, 3_000_000, 3_000_000),
  ev('complete', L1, 3_000_000, 3_000_000),
  ev('exists', L2),
  { ...ev('unpacked', `sha256:${'c'.repeat(64)}`), desc: { mediaType: 'x', digest: L1, size: 3_000_000 } },
];

describe('ProgressView', () => {
  it('without a terminal: one plain line per blob and state, none per byte count, no escapes', async () => {
    expect(await render(false, EVENTS)).toBe(
      [
        'aaaaaaaaaaaa: Downloading',
        'bbbbbbbbbbbb: Downloading',
        'aaaaaaaaaaaa: Download complete',
        'bbbbbbbbbbbb: Already exists',
        'aaaaaaaaaaaa: Pull complete',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal: rows redrawn in place (cursor up, erase line) with a bar and sizes while downloading', async () => {
    const out = await render(true, EVENTS);
    expect(out).toContain(`\x1b[2Kaaaaaaaaaaaa: Downloading [${'='.repeat(24)}>${' '.repeat(25)}] 1.5MB/3MB\n`);
    expect(out).toContain('\x1b[2A'); // two rows: back up over both before redrawing
    const lastFrame = out.slice(out.lastIndexOf('\x1b[2A') + 4);
    expect(lastFrame).toBe('\x1b[2Kaaaaaaaaaaaa: Pull complete\n\x1b[2Kbbbbbbbbbbbb: Already exists\n');
  });
});
