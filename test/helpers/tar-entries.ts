/** The entries of a tar stream, by name: their type and content (a link's target for links). */
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';

export async function tarEntries(tar: Readable): Promise<Map<string, { type: string; content: string }>> {
  const out = new Map<string, { type: string; content: string }>();
  const x = extract();
  x.on('entry', (h, s, next) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: unknown) => chunks.push(c as Buffer));
    s.on('end', () => {
      out.set(h.name, { type: h.type!, content: h.type === 'symlink' || h.type === 'link' ? h.linkname! : Buffer.concat(chunks).toString() });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    x.on('finish', resolve);
    x.on('error', reject);
    tar.on('error', reject);
    tar.pipe(x);
  });
  return out;
}
