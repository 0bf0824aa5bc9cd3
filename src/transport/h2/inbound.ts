/**
 * What the server does with each frame a client sends (RFC 9113 §5.1 stream states, §6 frame
 * definitions): connection errors are thrown as ConnectionError (GOAWAY), stream errors answered
 * with RST_STREAM, and frames that cost work without giving any are charged to the connection's
 * flood allowance (calm.ts).
 */
import type { H2Connection } from './connection';
import { ACK, END_STREAM, Frame, H2Error, MAX_WINDOW } from './frames';
import { encodeHeaders, type HeaderList, HeaderListTooLarge } from './hpack';
import { MAX_STREAMS } from './limits';
import { ConnectionError, type FrameSink } from './reader';
import { malformedRequest } from './request-headers';
import { H2Stream } from './stream';

const TOO_LARGE = encodeHeaders([[':status', '431']]);

export class Inbound implements FrameSink {
  /** The client's first frame must be SETTINGS (RFC 9113 §3.4). */
  private settingsSeen = false;
  /** The stream of the DATA frame now arriving (undefined: one we ignore). */
  private dataStream: H2Stream | undefined;

  constructor(private readonly c: H2Connection) {}

  dataStart(id: number, len: number, dataLen: number, endStream: boolean): void {
    const c = this.c;
    this.first(Frame.DATA);
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    // A client that ignores our windows could make a paused stream buffer without bound.
    c.connRecvWindow -= len;
    if (c.connRecvWindow < 0) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    c.creditConnection(len);
    if (len === 0 && !endStream) this.spend('empty DATA frames');
    this.dataStream = undefined;
    const s = c.streams.get(id);
    if (!s) {
      this.notOpen(id, 'DATA');
      return;
    }
    if (s.remoteClosed) {
      this.streamError(s, H2Error.STREAM_CLOSED);
      return;
    }
    if (!s.received(len)) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, `DATA beyond the window of stream ${id}`);
    // Padding is never seen by the stream: credit it back at once.
    if (len > dataLen) s.giveBack(len - dataLen);
    this.dataStream = s;
  }

  data(chunk: Buffer): void {
    const s = this.dataStream;
    if (s && !s.remoteClosed) s.receive(chunk);
  }

  dataEnd(end: boolean): void {
    const s = this.dataStream;
    this.dataStream = undefined;
    if (end && s && !s.remoteClosed) s.remoteEnd();
  }

  headers(id: number, endStream: boolean, block: Buffer, selfDependent: boolean): void {
    const c = this.c;
    this.first(Frame.HEADERS);
    // Always decode: the HPACK table must stay in step even for streams that are refused.
    let list: HeaderList | undefined;
    try {
      list = c.hpack.decode(block);
    } catch (e) {
      if (!(e instanceof HeaderListTooLarge)) throw e;
    }
    const existing = c.streams.get(id);
    if (existing) {
      // Trailers from the client: gRPC sends none, but they must end the stream (§8.1).
      if (existing.remoteClosed) this.streamError(existing, H2Error.STREAM_CLOSED);
      else if (!endStream || selfDependent) this.streamError(existing, H2Error.PROTOCOL_ERROR);
      else existing.remoteEnd();
      return;
    }
    if (id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `even stream id ${id}`);
    if (id <= c.lastStreamId) {
      const resetByUs = c.recentlyClosed.get(id);
      if (resetByUs === true) return; // crossed our RST_STREAM (§5.1)
      if (resetByUs === false) throw new ConnectionError(H2Error.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, `stream id ${id} below ${c.lastStreamId}`);
    }
    c.lastStreamId = id;
    c.streamStarted();
    if (c.goingAway || c.streams.size >= MAX_STREAMS) {
      this.spend('refused streams');
      c.resetStream(id, H2Error.REFUSED_STREAM, true);
      return;
    }
    if (selfDependent || (list && malformedRequest(list))) {
      this.spend('malformed requests');
      c.resetStream(id, H2Error.PROTOCOL_ERROR, true);
      return;
    }
    if (!list) {
      // RFC 9113 §10.5.1: a larger header section than the server will handle earns a 431.
      c.headers(id, TOO_LARGE, END_STREAM);
      if (endStream) c.closedStream(id, false);
      else c.resetStream(id, H2Error.NO_ERROR);
      return;
    }
    const s = new H2Stream(c, id, c.peerInitialWindow);
    c.streams.set(id, s);
    c.hooks.onStream(s, list);
    if (endStream) s.remoteEnd();
  }

  control(type: number, flags: number, id: number, p: Buffer): void {
    const c = this.c;
    this.first(type);
    switch (type) {
      case Frame.SETTINGS: {
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
        if (flags & ACK) {
          if (p.length) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
          return;
        }
        if (p.length % 6) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length');
        this.spend('SETTINGS frames');
        for (let j = 0; j < p.length; j += 6) c.applySetting(p.readUInt16BE(j), p.readUInt32BE(j + 2));
        c.frame(Frame.SETTINGS, ACK, 0, undefined, true);
        c.pumpBlocked();
        return;
      }
      case Frame.PING:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        if (p.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING length');
        if (flags & ACK) return c.pong();
        if (!c.calm.ping(c.streams.size)) return c.calmDown('too_many_pings');
        c.outbox.ack(Buffer.from(p));
        return;
      case Frame.WINDOW_UPDATE:
        return this.windowUpdate(id, p);
      case Frame.RST_STREAM: {
        if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM length');
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (id > c.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
        this.spend('RST_STREAM frames');
        const s = c.streams.get(id);
        if (s) {
          c.forget(s);
          s.peerReset(p.readUInt32BE(0));
        }
        return;
      }
      case Frame.GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (p.length < 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'GOAWAY length');
        c.goAway();
        return;
      case Frame.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case Frame.PRIORITY: {
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        this.spend('PRIORITY frames');
        // Priorities are advisory and ignored (§5.3), but a malformed one is still a stream error.
        const bad = p.length !== 5 ? H2Error.FRAME_SIZE_ERROR : (p.readUInt32BE(0) & 0x7fffffff) === id ? H2Error.PROTOCOL_ERROR : undefined;
        if (bad !== undefined) {
          const s = c.streams.get(id);
          if (s) this.streamError(s, bad);
          else c.resetStream(id, bad, true);
        }
        return;
      }
      case Frame.CONTINUATION:
        this.spend('empty CONTINUATION frames');
        return;
      default:
        this.spend('frames of unknown types'); // ignored otherwise (§5.5)
    }
  }

  private windowUpdate(id: number, p: Buffer): void {
    const c = this.c;
    if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const inc = p.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      c.connSendWindow += inc;
      if (c.connSendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      c.pumpBlocked();
      return;
    }
    if (id > c.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
    const s = c.streams.get(id);
    if (!s) return; // closed: it may have crossed our END_STREAM (§5.1)
    if (inc === 0) this.streamError(s, H2Error.PROTOCOL_ERROR);
    else if (!s.widen(inc)) this.streamError(s, H2Error.FLOW_CONTROL_ERROR);
    else c.pump(s);
  }

  /** A frame on a stream that is not open: idle (connection error), reset by us (ignored), or closed. */
  private notOpen(id: number, what: string): void {
    const c = this.c;
    if (id > c.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `${what} on idle stream ${id}`);
    if (c.recentlyClosed.get(id) === true) return;
    this.spend('frames on closed streams');
    c.resetStream(id, H2Error.STREAM_CLOSED, true);
  }

  /** A stream error (§5.4.2): RST_STREAM to the client, and the call learns it is over. */
  private streamError(s: H2Stream, code: number): void {
    this.spend('stream errors');
    s.reset(code);
    s.peerReset(code);
  }

  private first(type: number): void {
    if (this.settingsSeen) return;
    if (type !== Frame.SETTINGS) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the first frame is not SETTINGS');
    this.settingsSeen = true;
  }

  private spend(what: string): void {
    if (!this.c.calm.spend()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `too many ${what}`);
  }
}
