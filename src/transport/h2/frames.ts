/** HTTP/2 wire constants (RFC 9113 §6, §7) and what berth advertises. */
export const Frame = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export type FrameType = (typeof Frame)[keyof typeof Frame];

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

export const H2Error = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What we advertise: frames up to 1 MiB, 16 MiB per stream and 64 MiB per connection in flight. */
export const LOCAL_MAX_FRAME = 1 << 20;
export const STREAM_WINDOW = 16 << 20;
export const CONN_WINDOW = 64 << 20;
export const DEFAULT_WINDOW = 65535;

/** The 9-byte header of a frame with a `len`-byte payload. */
export function frameHeader(len: number, type: number, flags: number, id: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h[0] = len >>> 16;
  h[1] = (len >>> 8) & 0xff;
  h[2] = len & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return h;
}
