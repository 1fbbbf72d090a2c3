// One simulated Voice Live session: its state object, the counted send, and
// the job pump that streams long output (responses, bursts) under
// backpressure.
import type { RecognizedString, WebSocket } from 'uWebSockets.js';
import { InputAudio } from './audio';
import { eventNamesFor, initialSession, newId } from './events';
import type { EventNames, Json, SessionParams } from './events';

export interface SimulatorStats {
  /** Sessions opened since start. */
  sessions: number;
  /** Sessions open now. */
  active: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** What a session needs from its simulator, shared by all its sessions. */
export interface SessionEnv {
  readonly stats: SimulatorStats;
  readonly audioChunkBytes: number;
}

/** uWS copies these properties onto the socket; `ws.getUserData().s`. */
export interface UserData {
  s: SimSession;
}

/** A unit of long output. `step` sends a little and says whether it is done. */
export interface Job {
  step(s: SimSession): boolean;
}

/**
 * Stop producing once this much waits in the socket's send buffer and carry
 * on from the drain handler. Well under maxBackpressure, so nothing is ever
 * dropped, and small enough that thousands of sessions stay cheap.
 */
export const HIGH_WATER_BYTES = 256 * 1024;

/** Responses queued behind the one streaming before new ones are refused. */
export const MAX_QUEUED_JOBS = 8;

export class SimSession {
  /** Set in open; null until then and after close. */
  ws: WebSocket<UserData> | null;
  /** The close handler ran: the uWS socket must not be touched again. */
  closed: boolean;
  /** simulator.echo_raw: frames go back byte-for-byte instead of being parsed. */
  echoRaw: boolean;
  readonly id: string;
  readonly session: Json;
  readonly input: InputAudio;
  readonly jobs: Job[];
  /** Id of the last conversation item, for `previous_item_id`. */
  lastItemId: string | null;
  /** The WebRTC control channel: answers rtc.call.sdp.create. */
  readonly call: boolean;
  /** Set once the SDP answer was sent (one call per control channel). */
  rtcCallId: string | null;
  /** The event names of the api-version the session was opened with. */
  readonly names: EventNames;

  constructor(
    readonly env: SessionEnv,
    params: SessionParams,
  ) {
    this.ws = null;
    this.closed = false;
    this.echoRaw = false;
    this.id = newId('sess');
    this.session = initialSession(this.id, params);
    this.input = new InputAudio();
    this.jobs = [];
    this.lastItemId = null;
    this.call = params.call === true;
    this.rtcCallId = null;
    this.names = eventNamesFor(params.apiVersion);
  }
}

/** Send one frame and count it. A no-op once the socket is closed. */
export function send(s: SimSession, data: RecognizedString, isBinary: boolean, bytes: number): void {
  if (s.closed || s.ws === null) return;
  s.ws.send(data, isBinary);
  s.env.stats.framesOut++;
  s.env.stats.bytesOut += bytes;
}

export function sendText(s: SimSession, text: string): void {
  send(s, text, false, Buffer.byteLength(text));
}

export function enqueue(s: SimSession, job: Job): boolean {
  if (s.jobs.length > MAX_QUEUED_JOBS) return false;
  s.jobs.push(job);
  pump(s);
  return true;
}

// ws.cork takes a callback; handing it one module-level function and the
// session through this slot avoids a closure per pump. Pumps never nest.
let corked: SimSession | null = null;

function runCorked(): void {
  const s = corked as SimSession;
  const ws = s.ws as WebSocket<UserData>;
  while (s.jobs.length > 0 && !s.closed) {
    if (ws.getBufferedAmount() >= HIGH_WATER_BYTES) return; // drain resumes us
    if (s.jobs[0].step(s)) s.jobs.shift();
  }
}

/** Make progress on queued jobs; called on enqueue and from drain. */
export function pump(s: SimSession): void {
  if (s.closed || s.ws === null || s.jobs.length === 0) return;
  corked = s;
  s.ws.cork(runCorked);
  corked = null;
}
