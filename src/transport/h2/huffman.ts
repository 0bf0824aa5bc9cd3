/**
 * HPACK's static Huffman code (RFC 7541 Appendix B), decoding only: berth never Huffman-encodes
 * (the few header strings it sends are short), but Go and nghttp2 clients encode most strings.
 *
 * The code is canonical (codes of one length are consecutive, in symbol order, after all shorter
 * codes), so the 257 code lengths below are the whole table; the codes are derived from them.
 */
const CODE_LENGTHS = [
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6,
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10,
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6,
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5,
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28,
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23,
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24,
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23,
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23,
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25,
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27,
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23,
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26,
  30, // EOS (256)
];
export const EOS = 256;
const MAX_LEN = 30;

/** Canonical decoding tables: per length, the first code, how many codes, where their symbols start. */
const firstCode = new Int32Array(MAX_LEN + 2);
const countOf = new Int32Array(MAX_LEN + 2);
const symbolStart = new Int32Array(MAX_LEN + 2);
const symbols: number[] = [];
/** code and length per symbol (tests check them against RFC 7541's table). */
export const CODES: Array<{ code: number; len: number }> = [];

(() => {
  for (let len = 1; len <= MAX_LEN; len++) {
    symbolStart[len] = symbols.length;
    for (let s = 0; s < CODE_LENGTHS.length; s++) if (CODE_LENGTHS[s] === len) symbols.push(s);
    countOf[len] = symbols.length - symbolStart[len];
  }
  let code = 0;
  for (let len = 1; len <= MAX_LEN; len++) {
    firstCode[len] = code;
    for (let i = 0; i < countOf[len]; i++) CODES[symbols[symbolStart[len] + i]] = { code: code + i, len };
    code = (code + countOf[len]) * 2;
  }
})();

/**
 * Decodes a Huffman-coded string (as latin1: header values are octets); undefined as soon as it
 * passes `maxLen` characters. Throws on bad padding or EOS.
 */
export function huffmanDecode(buf: Buffer, start: number, end: number, maxLen = Infinity): string | undefined {
  let out = '';
  let code = 0;
  let len = 0;
  let pad = 0; // bits since the last symbol, all ones so far?
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i];
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      code = code * 2 + bit;
      len++;
      pad++;
      if (!bit) ones = false;
      const k = code - firstCode[len];
      if (k < countOf[len] && k >= 0) {
        const s = symbols[symbolStart[len] + k];
        if (s === EOS) throw new Error('hpack: EOS in a Huffman string');
        out += String.fromCharCode(s);
        if (out.length > maxLen) return undefined;
        code = 0;
        len = 0;
        pad = 0;
        ones = true;
      } else if (len > MAX_LEN) throw new Error('hpack: bad Huffman code');
    }
  }
  // Padding: a prefix of EOS (all ones), shorter than 8 bits (RFC 7541 §5.2).
  if (pad > 7 || !ones) throw new Error('hpack: bad Huffman padding');
  return out;
}
