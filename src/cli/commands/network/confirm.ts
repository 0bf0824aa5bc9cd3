/** Docker's `[y/N]` prompt: one line from stdin; anything but y/yes (or no input) is no. */
import type { Cli } from '../../cli';

export async function confirm(cli: Cli, question: string): Promise<boolean> {
  await cli.out(question);
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const done = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.off('error', done);
      process.stdin.pause();
      resolve(buf.split('\n', 1)[0]!.trim());
    };
    const onData = (b: Buffer) => {
      buf += b.toString('utf8');
      if (buf.includes('\n')) done();
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
  return /^(y|yes)$/i.test(answer);
}
