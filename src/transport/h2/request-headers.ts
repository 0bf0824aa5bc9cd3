/** What makes a request's header list malformed (RFC 9113 §8.2, §8.3.1): a stream error PROTOCOL_ERROR. */
import type { HeaderList } from './hpack';

/** Lowercase tokens (RFC 9110 §5.1; RFC 9113 §8.2.1 forbids uppercase). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** The reason `list` is not a well-formed request, or undefined. */
export function malformedRequest(list: HeaderList): string | undefined {
  let regular = false;
  let seen = 0; // bits: :method, :scheme, :path, :authority
  for (const [name, value] of list) {
    if (BAD_VALUE.test(value)) return `field ${name} has a NUL, CR or LF`;
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      const bit = name === ':method' ? 1 : name === ':scheme' ? 2 : name === ':path' ? 4 : name === ':authority' ? 8 : 0;
      if (!bit) return `pseudo-header ${name} in a request`;
      if (seen & bit) return `${name} twice`;
      if (bit === 4 && !value) return 'empty :path';
      seen |= bit;
      continue;
    }
    regular = true;
    if (!FIELD_NAME.test(name)) return `field name ${JSON.stringify(name.slice(0, 40))}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
  }
  if ((seen & 7) !== 7) return 'no :method, :scheme or :path';
  return undefined;
}
