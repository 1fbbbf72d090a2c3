// One browser <-> Voice Live session: all per-connection state in one object
// whose every field is set in the constructor, so V8 keeps a single shape and
// the module-level handlers (client-socket.ts, upstream/socket.ts) reach it
// without closures.
import type { WebSocket as ClientSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { ProxyError } from '../errors';
import type { UpstreamTarget } from '../upstream/target';
import type { UpstreamSocket } from '../upstream/socket';
import type { Relay } from './relay';
import type { Lease } from '../fleet/fleet-limiter';
import type { Hold } from '../usage/quotas';
import { emptyUsage, type SessionUsage } from '../usage/usage-sink';
import { METERED_START } from '../usage/meter';

export type Initiator = '' | 'client' | 'upstream' | 'proxy';

/**
 * Where the upstream leg is. Connecting from the session's start (a keyless
 * session waits for the proxy's token first, with `upstream` still null)
 * until ws's 'open' or 'close'; Closing once the proxy sent its close frame;
 * Closed at ws's 'close', the leg's last event. Numbers: compared per frame.
 */
export const enum UpstreamState {
  Connecting = 0,
  Open = 1,
  Closing = 2,
  Closed = 3,
}

/** What the uWS socket carries: set in the upgrade handler, read in open. */
export interface ClientUserData {
  session: Session | null;
  /** A request error to report after the upgrade (error event + 1008). */
  requestError: ProxyError | null;
  target: UpstreamTarget | null;
  /** True while the connection holds a capacity slot; cleared when it is given back (once). */
  hasSlot: boolean;
  ip: string;
  ipKey: string;
  origin: string;
  /** The client's x-ms-client-request-id ('' when absent or not a plain id): logged, never the log key. */
  clientRequestId: string;
  /** The verified subject (CLIENT_AUTH) while it holds a MAX_SESSIONS_PER_SUBJECT slot, else ''. */
  subject: string;
  /** The session's fleet lease (REDIS_URL), given back once on close. */
  lease: Lease | null;
}

export class Session {
  readonly relay: Relay;
  readonly id: number;
  readonly ip: string;
  readonly target: UpstreamTarget;
  readonly log: Logger;
  readonly openedAt: number;
  /** The caller's verified subject (CLIENT_AUTH), '' when none: logged with the session. */
  subject: string;

  /** null once the browser leg has closed: uWS sockets must not be touched after close. */
  client: ClientSocket<ClientUserData> | null;
  upstream: UpstreamSocket<Session> | null;
  upstreamState: UpstreamState;
  /** Why the upstream connect failed, decided by whoever saw it first. */
  upstreamFailure: ProxyError | null;
  connectTimer: NodeJS.Timeout | null;
  /** performance.now() when the upstream connect began, then how long it took (ms, -1 until open). */
  connectStartedAt: number;
  upstreamConnectMs: number;

  /** Frames sent by the browser before the upstream opened (copied: uWS buffers are neutered). */
  pending: Buffer[];
  pendingBinary: boolean[];
  pendingBytes: number;

  /**
   * Bytes held for this session's slow peers (BUFFER_BUDGET_BYTES): uWS's
   * buffer toward the browser at its largest (see accounting.ts noteClientBuffer), and
   * the upstream socket's write buffer as last seen; with pendingBytes and
   * heldAssembly, charged to the process budget as heldKiB.
   */
  heldClient: number;
  heldUpstream: number;
  /** Memory the upstream frame parser holds for a message that spans reads (message-assembly.ts). */
  heldAssembly: number;
  heldKiB: number;

  /** Upstream reading paused because the browser's send buffer is above the high-water mark. */
  paused: boolean;
  pausedAt: number;
  /**
   * When bytes last waited in uWS toward the browser with none written out
   * since (0: nothing waits, or the browser read some since): a browser that
   * reads nothing for SLOW_PEER_TIMEOUT_MS is closed even below the
   * high-water mark, so what its kernel send queue and uWS hold is bounded in
   * time, not only in size.
   */
  backlogAt: number;

  /** Coarse timestamps (sweeper clock) of last data and liveness, for the sweep. */
  lastFrameAt: number;
  /**
   * The sweeper's own view of the browser's frames (CLIENT_IDLE_TIMEOUT_MS):
   * framesIn at its last look, and when framesIn last moved. Kept by the sweep,
   * so the per-frame path gains nothing.
   */
  sweptFramesIn: number;
  clientFrameSeenAt: number;
  clientAlive: boolean;
  upstreamAlive: boolean;

  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;

  /** What the session has used (usage/meter.ts counts it on the hot paths). */
  readonly usage: SessionUsage;
  /** The meter's state: audio bytes per second each way, and what is not yet a whole millisecond. */
  audioInRate: number;
  audioOutRate: number;
  audioInRest: number;
  audioOutRest: number;
  /** The session's first cell in the /metrics usage totals (usage/usage-totals.ts), -1 until its first count. */
  usageCell: number;
  /** Its place in its caller's daily quota account (usage/quotas.ts); null while no quota counts it. */
  quotaHold: Hold | null;

  /** The proxy's reason for ending the session, when it was the proxy's or a protocol error. */
  error: ProxyError | null;
  /** Who ended the session: set once, by endedBy(). */
  private initiator: Initiator;
  clientCloseCode: number;
  upstreamCloseCode: number;
  finished: boolean;

  /** Who ended the session ('' while it runs): the first to call endedBy(). */
  get closedBy(): Initiator {
    return this.initiator;
  }

  /** The session is ending because of `who`; only the first cause counts. */
  endedBy(who: Exclude<Initiator, ''>): void {
    if (this.initiator === '') this.initiator = who;
  }

  /** The upstream has opened (it may have closed since): its connect time is known from then. */
  get upstreamOpen(): boolean {
    return this.upstreamConnectMs >= 0;
  }

  /** A log line's fields: who this session is, plus `extra`. */
  line(extra: Record<string, unknown>): Record<string, unknown> {
    return {
      conn: this.id,
      ip: this.ip,
      mode: this.target.mode,
      model: this.target.label,
      requestId: this.target.requestId,
      ...extra,
    };
  }

  constructor(
    relay: Relay,
    id: number,
    ip: string,
    target: UpstreamTarget,
    log: Logger,
    client: ClientSocket<ClientUserData>,
    now: number,
  ) {
    this.relay = relay;
    this.id = id;
    this.ip = ip;
    this.target = target;
    // The parent logger, not a child: a pino child per session costs memory
    // for the session's whole life, for the two or three lines it writes.
    this.log = log;
    this.openedAt = now;
    this.subject = '';
    this.client = client;
    this.upstream = null;
    this.upstreamState = UpstreamState.Connecting;
    this.upstreamFailure = null;
    this.connectTimer = null;
    this.connectStartedAt = 0;
    this.upstreamConnectMs = -1;
    this.pending = [];
    this.pendingBinary = [];
    this.pendingBytes = 0;
    this.heldClient = 0;
    this.heldUpstream = 0;
    this.heldAssembly = 0;
    this.heldKiB = 0;
    this.paused = false;
    this.pausedAt = 0;
    this.backlogAt = 0;
    this.lastFrameAt = now;
    this.sweptFramesIn = 0;
    this.clientFrameSeenAt = now;
    this.clientAlive = true;
    this.upstreamAlive = true;
    this.framesIn = 0;
    this.bytesIn = 0;
    this.framesOut = 0;
    this.bytesOut = 0;
    this.usage = emptyUsage();
    this.audioInRate = METERED_START.audioInRate;
    this.audioOutRate = METERED_START.audioOutRate;
    this.audioInRest = 0;
    this.audioOutRest = 0;
    this.usageCell = -1;
    this.quotaHold = null;
    this.error = null;
    this.initiator = '';
    this.clientCloseCode = 0;
    this.upstreamCloseCode = 0;
    this.finished = false;
  }
}
