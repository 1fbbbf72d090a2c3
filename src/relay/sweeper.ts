// One shared timer for every session instead of several per socket (the
// undici habit): it advances the relay's coarse clock, pings both legs under
// Azure's 4-minute load-balancer idle timeout, enforces the time limits (the
// session's, idle both ways, and the browser's own silence) and
// keeps the buffer budget's view of held bytes fresh.
import { Errors } from '../errors';
import type { Relay } from './relay';
import { UpstreamState, type Session } from './session';

export interface SweepOptions {
  readonly keepaliveIntervalMs: number;
  readonly slowPeerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** No browser frame for this long (0 = off): a slot held without audio is given back. */
  readonly clientIdleTimeoutMs: number;
  readonly maxSessionMs: number;
}

/** Tick often enough to resolve the shortest limit to about a quarter of it, at most once a second. */
export function tickInterval(o: SweepOptions): number {
  let shortest = Math.min(o.keepaliveIntervalMs, o.slowPeerTimeoutMs);
  if (o.idleTimeoutMs > 0) shortest = Math.min(shortest, o.idleTimeoutMs);
  if (o.clientIdleTimeoutMs > 0) shortest = Math.min(shortest, o.clientIdleTimeoutMs);
  if (o.maxSessionMs > 0) shortest = Math.min(shortest, o.maxSessionMs);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private readonly tickMs: number;
  /**
   * Ticks per keepalive interval. Each session is pinged on one of them, the
   * one its id picks, so a tick pings a share of the sessions rather than all
   * of them at once: every idle session pinged in one callback (a ping on
   * each leg, a TLS write upstream) holds the thread long enough to leave a
   * gap in every session's audio once per interval (docs/decisions/0005-ping-slots.md).
   */
  private readonly pingSlots: number;
  private ticks = 0;
  /** The session being pinged: cork() runs its callback synchronously; bound once, no closure per ping. */
  private pinging: Session | null = null;
  private readonly pingBound: () => void;

  constructor(
    private readonly relay: Relay,
    private readonly o: SweepOptions,
  ) {
    this.tickMs = tickInterval(o);
    this.pingSlots = Math.max(1, Math.round(o.keepaliveIntervalMs / this.tickMs));
    this.pingBound = this.pingClient.bind(this);
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(sweep, this.tickMs, this);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  tick(now: number): void {
    const relay = this.relay;
    relay.now = now;
    const o = this.o;
    const slots = this.pingSlots;
    const slot = this.ticks++ % slots;
    for (const s of relay.sessions) {
      if (s.client === null) continue;
      // A write toward the upstream that finished since must not keep the budget charged.
      if (s.heldUpstream !== 0) relay.refreshHeld(s);
      // The browser's last frame, seen here (to a tick) rather than stamped per frame.
      if (s.framesIn !== s.sweptFramesIn) {
        s.sweptFramesIn = s.framesIn;
        s.clientFrameSeenAt = now;
      }
      if (o.maxSessionMs > 0 && now - s.openedAt >= o.maxSessionMs) {
        relay.fail(s, Errors.SESSION_LIMIT);
      } else if (o.idleTimeoutMs > 0 && now - s.lastFrameAt >= o.idleTimeoutMs) {
        relay.fail(s, Errors.IDLE_TIMEOUT);
      } else if (o.clientIdleTimeoutMs > 0 && now - s.clientFrameSeenAt >= o.clientIdleTimeoutMs) {
        // Frames from the upstream alone do not keep it: a page that opened a session and sends
        // nothing (no audio, no event) holds a slot, and IDLE_TIMEOUT_MS only sees both ways.
        relay.fail(s, Errors.CLIENT_IDLE);
      } else if (
        (s.paused && now - s.pausedAt >= o.slowPeerTimeoutMs) ||
        (s.backlogAt !== 0 && now - s.backlogAt >= o.slowPeerTimeoutMs)
      ) {
        relay.metrics.slowClientCloses++;
        relay.fail(s, Errors.SLOW_CLIENT);
      } else if (s.id % slots === slot) {
        this.ping(s);
      }
    }
    // Another thread may have spent the shared budget: shed here too.
    if (relay.budget.spent) relay.shed();
  }

  private ping(s: Session): void {
    if (!s.clientAlive) {
      this.relay.fail(s, Errors.KEEPALIVE_TIMEOUT);
      return;
    }
    // A paused upstream cannot read its pong; it is not dead, we stopped listening.
    const upstreamOpen = s.upstreamState === UpstreamState.Open;
    if (upstreamOpen && !s.upstreamAlive && !s.paused) {
      this.relay.fail(s, Errors.UPSTREAM_LOST);
      return;
    }
    s.clientAlive = false;
    this.pinging = s;
    s.client?.cork(this.pingBound);
    this.pinging = null;
    if (upstreamOpen && s.upstream !== null) {
      s.upstreamAlive = false;
      s.upstream.ping();
    }
  }

  private pingClient(): void {
    this.pinging?.client?.ping();
  }
}

function sweep(self: Sweeper): void {
  self.tick(Date.now());
}
