/**
 * The pull that `berth pull` and `berth run`/`create` (an image that is missing) share: through
 * berthd's Transfer service, progress drawn as Docker draws it, credentials from the client's
 * Docker config. Docker's closing lines: `Digest: …`, `Status: …`, and the full name.
 */
import type { SavedImage } from '../../../client';
import type { Cli } from '../../cli';
import { configCredentials } from './credentials';
import { parseReference } from '../../../core/reference';
import { fullName } from './names';
import { ProgressView } from './progress-view';

export interface PullImageOptions {
  /** `linux/arm64`; default this machine's. */
  platform?: string;
  /** Only the final name (`pull -q`). */
  quiet?: boolean;
  /** Where progress goes: stdout for `pull`, stderr for `run` (whose stdout is the container's). */
  toStderr?: boolean;
  signal?: AbortSignal;
}

export async function pullImage(cli: Cli, ref: string, o: PullImageOptions = {}): Promise<SavedImage> {
  const say = sayTo(cli, o);
  const tagged = /[:@][^/]*$/.test(ref);
  const shown = tagged ? ref : `${ref}:latest`;
  // As Docker: the default-tag note at once (not under run, whose "Unable to find" names the tag),
  // "Pulling from" only once the registry has resolved the name, so a pull that cannot start is one line.
  if (!o.quiet && !tagged && !o.toStderr) await say('Using default tag: latest\n');
  const { saved, fetched } = await pullWithProgress(cli, fullName(ref), o);
  if (!o.quiet) await say(`Status: ${fetched ? 'Downloaded newer image' : 'Image is up to date'} for ${shown}\n`);
  if (!o.toStderr) await say(`${saved.name}\n`); // docker pull ends with the full name; docker run does not
  return saved;
}

const sayTo = (cli: Cli, o: PullImageOptions) => (s: string) => (o.toStderr ? cli.err(s) : cli.out(s));

/**
 * One image pulled as Docker shows it: `<tag>: Pulling from <path>`, the layers' rows, then
 * `Digest: …`; `fetched` says whether anything was downloaded (Docker's "Downloaded newer image").
 */
export async function pullWithProgress(cli: Cli, name: string, o: PullImageOptions = {}): Promise<{ saved: SavedImage; fetched: boolean }> {
  const say = sayTo(cli, o);
  const r = parseReference(name);
  const view = o.quiet ? undefined : new ProgressView(say, o.toStderr ? process.stderr.isTTY === true : cli.stdoutIsTTY);
  let fetched = false;
  let saved: SavedImage;
  try {
    saved = await cli.client.transfer.pull(name, {
      platform: o.platform,
      credentials: configCredentials(),
      signal: o.signal,
      onProgress: (p) => {
        if (p.event === 'resolved') view?.line(`${r.digest ?? r.tag}: Pulling from ${r.path}\n`);
        // Bytes came from the registry ('complete' alone is also sent for a manifest already stored).
        if (p.event === 'downloading' || p.event === 'resuming') fetched = true;
        view?.onProgress(p);
      },
    });
  } finally {
    await view?.flush(); // what was drawn comes before the error line
  }
  if (!o.quiet) await say(`Digest: ${saved.digest}\n`);
  return { saved, fetched };
}
