/**
 * Container ids and names: ids are 64 random hex digits (never all digits in the 12 a short id
 * shows, as Docker ensures), names follow Docker's rule `/?[a-zA-Z0-9][a-zA-Z0-9_.-]+`, and a
 * container created without one gets `adjective_noun` from berth's own (nautical) word lists.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { invalidArgument } from '../core/errors';

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** Long enough for any sensible name; keeps the DB key and a line of `ps` sane. */
const NAME_MAX = 253;

/** Validates a user-given name; returns it without Docker's leading slash. */
export function validateName(name: string): string {
  if (!NAME_RE.test(name) || name.length > NAME_MAX) {
    throw invalidArgument(`invalid container name (${JSON.stringify(name)}): only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name.slice(1) : name;
}

export function newId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d{12}/.test(id)) return id;
  }
}

export const isFullId = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);
export const shortId = (id: string): string => id.slice(0, 12);

const ADJECTIVES = [
  'amber', 'ashore', 'azure', 'balmy', 'becalmed', 'blithe', 'bold', 'brackish', 'brave', 'breezy', 'briny', 'brisk',
  'calm', 'canny', 'choppy', 'clever', 'coastal', 'cosy', 'crisp', 'dauntless', 'deft', 'dry', 'eager', 'easterly',
  'fair', 'fathomless', 'foggy', 'frosty', 'gallant', 'gentle', 'glassy', 'golden', 'gusty', 'hardy', 'hazy', 'hearty',
  'hushed', 'jaunty', 'keen', 'leeward', 'lively', 'lucid', 'merry', 'misty', 'moonlit', 'moored', 'nimble', 'northerly',
  'offshore', 'pacific', 'patient', 'placid', 'plucky', 'quiet', 'rapid', 'restless', 'rolling', 'rustic', 'salty',
  'seaworthy', 'serene', 'shipshape', 'silver', 'sleek', 'snug', 'southerly', 'spry', 'starlit', 'steady', 'stormy',
  'sturdy', 'sunny', 'swift', 'tidal', 'tranquil', 'trim', 'trusty', 'vivid', 'wandering', 'westerly', 'windward',
  'wiry', 'zealous',
];
const NOUNS = [
  'albatross', 'anchor', 'atoll', 'barge', 'beacon', 'berth', 'bollard', 'bosun', 'bow', 'breakwater', 'brig', 'buoy',
  'cabin', 'capstan', 'cargo', 'catamaran', 'channel', 'clipper', 'compass', 'coracle', 'cormorant', 'cove', 'crane',
  'current', 'cutter', 'davit', 'dinghy', 'dock', 'dolphin', 'dory', 'estuary', 'ferry', 'fjord', 'fleet', 'galley',
  'gangway', 'gull', 'harbour', 'hawser', 'helm', 'heron', 'hull', 'inlet', 'jetty', 'keel', 'kelp', 'ketch', 'lagoon',
  'lantern', 'lighthouse', 'lock', 'mainsail', 'marina', 'mast', 'mooring', 'narrows', 'oar', 'osprey', 'pelican',
  'pennant', 'pier', 'pilot', 'porthole', 'quay', 'reef', 'rigging', 'rudder', 'schooner', 'seal', 'shanty', 'shoal',
  'skiff', 'slipway', 'sloop', 'sounding', 'spinnaker', 'starboard', 'stern', 'tern', 'tide', 'tugboat', 'wake',
  'wharf', 'yawl',
];

/** `adjective_noun`; after `attempt` 3 a number is added (as Docker does when names collide). */
export function generateName(attempt = 0): string {
  const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
  return attempt >= 3 ? `${base}${randomInt(10)}` : base;
}
