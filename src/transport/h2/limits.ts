/**
 * What one peer may cost the server, in one place. The values follow what the field settled on
 * (grpc-go's http2_server.go and controlbuf.go, nghttp2, Go's x/net/http2) unless noted.
 */

/**
 * Streams a client may have open at once (advertised as SETTINGS_MAX_CONCURRENT_STREAMS) and
 * handlers that may run at once for one connection: a stream keeps its handler slot until the
 * handler finishes, even after the client reset it (so rapid reset cannot start unbounded
 * handlers). Go's x/net/http2 server uses 250; grpc-go clients queue calls beyond it.
 */
export const MAX_STREAMS = 256;

/** Frames we accept (advertised as SETTINGS_MAX_FRAME_SIZE): a 1 MiB Content/Write chunk is one DATA frame. */
export const LOCAL_MAX_FRAME = 1 << 20;

/**
 * Receive windows. Every stream starts with INITIAL_STREAM_WINDOW; while its handler keeps up the
 * window grows (stream.ts giveBack(); grpc-go grows its windows from measured bandwidth-delay
 * products instead) up to MAX_STREAM_WINDOW, drawing on a per-connection WINDOW_GROWTH_BUDGET.
 * Unread request bytes a connection can make the server hold are thus at most
 * MAX_STREAMS × INITIAL_STREAM_WINDOW + WINDOW_GROWTH_BUDGET = 48 MiB, and messages being
 * assembled another 16 MiB (grpc/messages.ts MESSAGE_BUDGET): 64 MiB in all.
 */
export const INITIAL_STREAM_WINDOW = 64 << 10;
export const MAX_STREAM_WINDOW = 16 << 20;
export const WINDOW_GROWTH_BUDGET = 32 << 20;
/** The connection window is credited as bytes arrive (streams bound what is buffered, as in grpc-go). */
export const CONN_WINDOW = 64 << 20;

/**
 * Header blocks: SETTINGS_MAX_HEADER_LIST_SIZE (advertised; RFC 7541 sizes: name + value + 32 per
 * field), and the most encoded bytes and frames one block may take before it is refused unread.
 * An honest client's encoded block is never larger than its list.
 */
export const MAX_HEADER_LIST = 64 << 10;
export const MAX_HEADER_BLOCK = MAX_HEADER_LIST;
export const MAX_BLOCK_FRAMES = 64;

/**
 * Reading pauses while the socket holds more than WRITE_BOUND unsent bytes, or more than
 * CONTROL_REPLY_BOUND control frames answering the peer (PING and SETTINGS ACKs, RST_STREAM)
 * wait to reach the kernel: a peer that does not read cannot make the server queue without bound
 * (grpc-go stops reading at 50 queued replies).
 */
export const WRITE_BOUND = 64 << 10;
export const CONTROL_REPLY_BOUND = 50;

/**
 * Frames that ask work of the server and give nothing (non-ACK SETTINGS, RST_STREAM, empty DATA
 * and CONTINUATION, PRIORITY, unknown types, refused streams) draw on a token bucket of
 * CALM_BURST refilled at CALM_PER_SECOND; an empty bucket earns GOAWAY(ENHANCE_YOUR_CALM).
 * nghttp2 rate-limits stream resets the same way (burst 1000).
 */
export const CALM_BURST = 1000;
export const CALM_PER_SECOND = 100;

/**
 * PING policy: grpc-go's server defaults, which containerd's clients (ctr among them) are built
 * to tolerate. A PING is fine if the server sent HEADERS or DATA since the previous one (a
 * client's BDP probe) or came at least PING_MIN_INTERVAL after it (PING_IDLE_INTERVAL with no
 * open stream); more than MAX_PING_STRIKES others earn GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
 */
export const PING_MIN_INTERVAL_MS = 5 * 60_000;
export const PING_IDLE_INTERVAL_MS = 2 * 3600_000;
export const MAX_PING_STRIKES = 2;

/**
 * Keepalive (grpc-go's server defaults): after KEEPALIVE_MS without a byte from the peer the
 * server sends a PING, and closes the connection if nothing arrives within KEEPALIVE_TIMEOUT_MS.
 * An idle healthy connection is never closed (containerd's clients keep theirs open).
 */
export const KEEPALIVE_MS = 2 * 3600_000;
export const KEEPALIVE_TIMEOUT_MS = 20_000;

/** How long a connection closed for an error keeps discarding input so its peer can read the GOAWAY. */
export const LINGER_MS = 1000;
export const LINGER_BYTES = 256 * 1024;

/**
 * New streams one connection may start in one turn of the event loop before its reading yields
 * to other connections (a burst of calls would otherwise run all its handlers in one go).
 */
export const STREAMS_PER_TURN = 64;

/** Frames received on streams we reset are ignored (RFC 9113 §5.1) for the most recent this many. */
export const RESET_MEMORY = 256;
