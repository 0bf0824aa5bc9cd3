import { CODES, huffmanDecode } from '../../src/transport/h2/huffman';
import { encodeHeaders, HeaderListTooLarge, HpackDecoder, HpackError } from '../../src/transport/h2/hpack';
import { literal } from '../helpers/h2-peer';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('HPACK (RFC 7541)', () => {
  it('derives the canonical Huffman code from the code lengths (Appendix B spot checks)', () => {
    expect(CODES[0]).toEqual({ code: 0x1ff8, len: 13 });
    expect(CODES[1]).toEqual({ code: 0x7fffd8, len: 23 });
    expect(CODES['0'.charCodeAt(0)]).toEqual({ code: 0x0, len: 5 });
    expect(CODES[' '.charCodeAt(0)]).toEqual({ code: 0x14, len: 6 });
    expect(CODES['a'.charCodeAt(0)]).toEqual({ code: 0x3, len: 5 });
    expect(CODES[255]).toEqual({ code: 0x3ffffee, len: 26 });
    expect(CODES[256]).toEqual({ code: 0x3fffffff, len: 30 });
  });

  it('decodes Huffman strings and refuses bad padding', () => {
    const b = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff');
    expect(huffmanDecode(b, 0, b.length)).toBe('www.example.com');
    const c = hex('a8eb 1064 9cbf');
    expect(huffmanDecode(c, 0, c.length)).toBe('no-cache');
    // A whole byte of padding (8 one bits) is not allowed; nor padding that is not all ones.
    const long = Buffer.concat([c, Buffer.from([0xff])]);
    expect(() => huffmanDecode(long, 0, long.length)).toThrow(/padding/);
    expect(() => huffmanDecode(hex('00'), 0, 1)).toThrow(/padding/);
  });

  it('decodes the C.3 request sequence (literals, dynamic table)', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('decodes the C.4 request sequence (Huffman)', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))[3]).toEqual([':authority', 'www.example.com']);
    expect(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))[4]).toEqual(['cache-control', 'no-cache']);
    expect(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))[4]).toEqual(['custom-key', 'custom-value']);
  });

  it('evicts from the dynamic table and honours size updates', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')); // custom-key: custom-value → index 62
    expect(d.decode(hex('be'))).toEqual([['custom-key', 'custom-value']]);
    // Size update to 0 empties the table: index 62 no longer exists.
    expect(() => d.decode(hex('20 be'))).toThrow(HpackError);
    // A size update above our SETTINGS_HEADER_TABLE_SIZE (4097 > 4096) is an error; 4096 is fine.
    expect(new HpackDecoder().decode(hex('3fe1 1f'))).toEqual([]);
    expect(() => new HpackDecoder().decode(hex('3fe2 1f'))).toThrow(/table size/);
  });

  it('refuses malformed blocks instead of reading past them', () => {
    expect(() => new HpackDecoder().decode(hex('80'))).toThrow(HpackError); // index 0
    expect(() => new HpackDecoder().decode(hex('ff ff ff ff ff 0f'))).toThrow(HpackError); // huge index
    expect(() => new HpackDecoder().decode(hex('00 05 61'))).toThrow(/truncated/);
    expect(() => new HpackDecoder().decode(hex('40 8a ff'))).toThrow(HpackError);
  });

  it('encodes literals a fresh decoder reads back', () => {
    const list: Array<[string, string]> = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '5'],
      ['grpc-message', 'x'.repeat(300)],
    ];
    expect(new HpackDecoder().decode(encodeHeaders(list))).toEqual(list);
  });

  describe('header list limit (RFC 7541 §4.1 sizes; RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE)', () => {
    it('refuses a list above the limit after processing the whole block, keeping the table in step', () => {
      const d = new HpackDecoder(4096, 100);
      // An indexed-later entry (incremental indexing) goes into the table even though the list is too long.
      const block = Buffer.concat([literal('x-a', 'y'.repeat(200)), Buffer.from([0x40, 3]), Buffer.from('x-b'), Buffer.from([3]), Buffer.from('zzz')]);
      expect(() => d.decode(block)).toThrow(HeaderListTooLarge);
      expect(d.decode(hex('be'))).toEqual([['x-b', 'zzz']]);
    });

    it('does not decode a string that cannot fit, whatever its Huffman coding', () => {
      const d = new HpackDecoder(4096, 64 << 10);
      // 100,000 'a's Huffman-coded (62,500 bytes): decoding stops once it passes the limit.
      const chars = jest.spyOn(String, 'fromCharCode');
      expect(() => d.decode(literal('x-big', 'a'.repeat(100_000), true))).toThrow(HeaderListTooLarge);
      expect(chars.mock.calls.length).toBeLessThan(66_000);
      chars.mockRestore();
      const spy = jest.spyOn(Buffer.prototype, 'toString');
      expect(() =>
        d.decode(Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.from('x'), Buffer.from([0x7f, 0xa1, 0x8c, 0x06]), Buffer.alloc(100_000, 0x61)])),
      ).toThrow(HeaderListTooLarge);
      // Neither 100,000-byte value was turned into a string.
      expect(spy.mock.calls.filter((c) => c[0] === 'latin1' && (c[2] as number) - (c[1] as number) > 1000)).toEqual([]);
      spy.mockRestore();
      // Still in step: the next block decodes.
      expect(d.decode(literal('x', 'y'))).toEqual([['x', 'y']]);
    });

    it('counts indexed fields toward the limit (no HPACK bomb)', () => {
      const d = new HpackDecoder(4096, 64 << 10);
      d.decode(Buffer.concat([Buffer.from([0x40, 1]), Buffer.from('x'), Buffer.from([0x7f, 0xa1, 0x1e]), Buffer.alloc(4000, 0x61)]));
      // 100 references to one 4 KB entry: 400 KB of list from a 100-byte block.
      expect(() => d.decode(Buffer.alloc(100, 0xbe))).toThrow(HeaderListTooLarge);
    });
  });
});
