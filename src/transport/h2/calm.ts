/**
 * Flood detection for one connection: a token bucket for frames that cost the server work and
 * give it nothing, and grpc-go's PING strikes. Either running out earns GOAWAY(ENHANCE_YOUR_CALM).
 */
import { CALM_BURST, CALM_PER_SECOND, MAX_PING_STRIKES, PING_IDLE_INTERVAL_MS, PING_MIN_INTERVAL_MS } from './limits';

export class Calm {
  private tokens = CALM_BURST;
  private refilledAt = Date.now();
  private strikes = 0;
  private lastPing = 0;
  /** The server sent HEADERS or DATA since the last PING (a client's BDP probe answers those). */
  sentSincePing = false;

  /** One costly-but-empty frame; false: the peer has used up its allowance. */
  spend(n = 1): boolean {
    if (this.tokens < CALM_BURST) {
      const now = Date.now();
      this.tokens = Math.min(CALM_BURST, this.tokens + ((now - this.refilledAt) * CALM_PER_SECOND) / 1000);
      this.refilledAt = now;
    } else this.refilledAt = Date.now();
    this.tokens -= n;
    return this.tokens >= 0;
  }

  /** A PING from the peer; false: too many (grpc-go's "too_many_pings"). */
  ping(openStreams: number): boolean {
    const now = Date.now();
    const last = this.lastPing;
    this.lastPing = now;
    if (this.sentSincePing) {
      this.sentSincePing = false;
      this.strikes = 0;
      return true;
    }
    if (now - last < (openStreams > 0 ? PING_MIN_INTERVAL_MS : PING_IDLE_INTERVAL_MS)) this.strikes++;
    return this.strikes <= MAX_PING_STRIKES;
  }
}
