// One load-generator thread (started by generator.ts): opens its share of the
// sessions, then sends appends for all of them from ONE shared timer at the
// configured cadence, and measures what comes back. Every number it reports
// is its own; it talks to the main thread by messages only.
//
// Cadence: the append period is cut into `slots` ticks of `tickMs`; session i
// sends on slot i % slots. Each timer wake-up sends for every slot whose time
// has come (catching up after a late wake-up), so the rate never drifts and
// a late generator shows up as `lagMaxMs`, not as silently fewer frames.
import { parentPort, workerData } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { mintTicket } from '../auth/mint-ticket';
import { Histogram } from './histogram';
import { RawSocket, OP_TEXT, buildFrame, patchDigits, readDigits, type RawHandlers } from './raw-ws';
import { appendTemplates, ECHO_ON, SEQ_AT, SEQ_W, TIME_AT, TIME_W, type AppendTemplate } from './audio';
import { emptyCounters, type Counters, type WorkerCommand, type WorkerConfig, type WorkerEvent } from './protocol';

const cfg = workerData as WorkerConfig;
const port = parentPort!;
const post = (msg: WorkerEvent): void => port.postMessage(msg);

const COMMIT_PAYLOAD = Buffer.from('{"type":"input_audio_buffer.commit"}');
const CREATED = Buffer.from('{"type":"session.created"');
const AUDIO_DELTA = Buffer.from('{"type":"response.audio.delta"');
const RESPONSE_DONE = Buffer.from('{"type":"response.done"');
const ERROR_EVT = Buffer.from('{"type":"error"');

function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

const nslots = Math.max(1, Math.round(cfg.periodMs / cfg.tickMs));
const slots: Session[][] = Array.from({ length: nslots }, () => []);
const templates: AppendTemplate[] = appendTemplates(cfg.pcmBytes);
const commitFrame = buildFrame(COMMIT_PAYLOAD).frame;
const echoFrame = buildFrame(ECHO_ON).frame;
const appendLen = templates[0].payloadLen;
const ca = cfg.ca ?? undefined;

const c: Counters = emptyCounters();
const win = { sent: 0, recv: 0, sentBytes: 0, recvBytes: 0, at: 0, lagMaxMs: 0 };
let winElu: EventLoopUtilization = performance.eventLoopUtilization();
let liveElu: EventLoopUtilization = performance.eventLoopUtilization();
/** The window's slowest echo (ms) per SERIES_MS since the mark: when the slow ones came, not only how slow. */
const SERIES_MS = 100;
let rttSeries: number[] = [];
const rtt = new Histogram();
const ttfa = new Histogram();
const done = new Histogram();
/** The main latency since the last progress report (the live p99). */
const live = new Histogram();

let t0 = 0;
let lastTick = -1;
let sending = false;
let nextToOpen = 0;
let inflight = 0;
let rampReported = false;
let closing = false;

class Session implements RawHandlers {
  readonly slot: number;
  sock: RawSocket | null = null;
  ready = false;
  closed = false;
  seq = 0;
  lastEcho = -1;
  sinceCommit = 0;
  readonly commitTimes: number[] = [];
  gotDelta = false;
  /** The append this session sends, patched per frame (see sendAppend). */
  frame: Buffer | null = null;

  constructor(readonly idx: number) {
    this.slot = idx % nslots;
  }

  connect(): void {
    if (cfg.ticket === null) {
      this.open(cfg.url);
      return;
    }
    mintTicket({
      sub: `loadtest-${this.idx}`,
      secret: cfg.ticket.secret,
      audience: cfg.ticket.audience,
      ttlSeconds: cfg.ticket.ttlSeconds,
    }).then(
      (ticket) => this.open(cfg.url + (cfg.url.includes('?') ? '&' : '?') + 'ticket=' + ticket),
      () => this.onClose(0, 'ticket not minted'),
    );
  }

  private open(url: string): void {
    if (closing) return;
    const localAddress = cfg.sourceIps ? cfg.sourceIps[this.idx % cfg.sourceIps.length] : undefined;
    this.sock = new RawSocket(url, { headers: cfg.headers, localAddress, rejectUnauthorized: !cfg.insecure, ca }, this);
  }

  onOpen(): void {
    c.opened++;
  }

  onFrame(op: number, buf: Buffer, start: number, end: number, now: number): void {
    c.recv++;
    c.recvBytes += end - start;
    if (win.at !== 0) {
      win.recv++;
      win.recvBytes += end - start;
    }
    if (!this.ready) {
      if (op === OP_TEXT && startsWith(buf, start, end, CREATED)) this.becomeReady();
      return;
    }
    if (cfg.mode === 'echo') {
      if (op === OP_TEXT && end - start === appendLen && buf[start + SEQ_AT - 1] === 101 /* e */) {
        c.echoes++;
        const seq = readDigits(buf, start + SEQ_AT, SEQ_W);
        if (seq <= this.lastEcho) c.outOfOrder++;
        this.lastEcho = seq;
        const us = now * 1000 - readDigits(buf, start + TIME_AT, TIME_W);
        live.record(us);
        if (win.at !== 0) {
          rtt.record(us);
          const b = Math.floor((now - win.at) / SERIES_MS);
          if (!(rttSeries[b] >= us / 1000)) rttSeries[b] = us / 1000;
        }
      } else if (startsWith(buf, start, end, ERROR_EVT)) {
        c.errors++;
      }
      return;
    }
    if (cfg.mode === 'respond') {
      if (startsWith(buf, start, end, AUDIO_DELTA)) {
        if (!this.gotDelta && this.commitTimes.length > 0) {
          this.gotDelta = true;
          const us = (now - this.commitTimes[0]) * 1000;
          live.record(us);
          if (win.at !== 0) ttfa.record(us);
        }
      } else if (startsWith(buf, start, end, RESPONSE_DONE)) {
        c.responses++;
        const at = this.commitTimes.shift();
        this.gotDelta = false;
        if (at !== undefined && win.at !== 0) done.record((now - at) * 1000);
      } else if (startsWith(buf, start, end, ERROR_EVT)) {
        c.errors++;
      }
    }
  }

  private becomeReady(): void {
    this.ready = true;
    c.created++;
    inflight--;
    if (cfg.mode === 'echo') this.sock!.send(echoFrame);
    if (cfg.mode !== 'idle') slots[this.slot].push(this);
  }

  onClose(code: number, why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.ready) {
      inflight--;
      c.failed++;
      // A refusal after the upgrade (a close frame before session.created) is classed by its code.
      const key = why === 'close' ? `close ${code}` : why;
      c.failReasons[key] = (c.failReasons[key] ?? 0) + 1;
    } else if (!closing) {
      c.closedEarly++;
      c.closeCodes[code] = (c.closeCodes[code] ?? 0) + 1;
    }
    if (this.ready) {
      const list = slots[this.slot];
      const i = list.indexOf(this);
      if (i !== -1) list.splice(i, 1);
    }
  }

  sendAppend(now: number): void {
    const t = templates[this.idx % templates.length];
    const sock = this.sock!;
    // The session's frame is patched in place when the socket no longer holds
    // it (the last write went to the kernel whole, as it does unless the
    // target is behind); else a fresh copy, since the queued one is still
    // to be written. Saves an allocation and a copy of a few KB per frame.
    let f = this.frame;
    if (f === null || !sock.drained()) {
      f = Buffer.allocUnsafe(t.frame.length);
      t.frame.copy(f);
      this.frame = f;
    }
    patchDigits(f, t.payloadOffset, SEQ_AT, this.seq, SEQ_W);
    patchDigits(f, t.payloadOffset, TIME_AT, Math.round(now * 1000), TIME_W);
    this.seq++;
    sock.send(f);
    c.sent++;
    c.sentBytes += t.payloadLen;
    if (win.at !== 0) {
      win.sent++;
      win.sentBytes += t.payloadLen;
    }
    if (cfg.mode === 'respond' && ++this.sinceCommit >= cfg.commitEvery) {
      this.sinceCommit = 0;
      sock.send(commitFrame);
      this.commitTimes.push(now);
      c.commits++;
      c.sent++;
      c.sentBytes += COMMIT_PAYLOAD.length;
      if (win.at !== 0) {
        win.sent++;
        win.sentBytes += COMMIT_PAYLOAD.length;
      }
    }
  }
}

const sessions: Session[] = [];
for (let i = 0; i < cfg.count; i++) sessions.push(new Session(cfg.first + i));

function tick(): void {
  const now = performance.now();
  const elapsed = now - t0;
  // Ramp: open sessions on a straight line over rampMs, bounded in flight.
  if (nextToOpen < sessions.length) {
    const due =
      cfg.rampMs <= 0
        ? sessions.length
        : Math.min(sessions.length, Math.ceil((elapsed / cfg.rampMs) * sessions.length));
    while (nextToOpen < due && inflight < cfg.maxInflight) {
      inflight++;
      sessions[nextToOpen++].connect();
    }
  }
  if (!rampReported && nextToOpen === sessions.length && inflight === 0) {
    rampReported = true;
    post({ ev: 'ramped', counters: snapshot() });
  }
  if (!sending) {
    lastTick = Math.floor(elapsed / cfg.tickMs);
    return;
  }
  const tickNo = Math.floor(elapsed / cfg.tickMs);
  const lag = (tickNo - lastTick - 1) * cfg.tickMs;
  if (lag > c.lagMaxMs) c.lagMaxMs = lag;
  if (win.at !== 0 && lag > win.lagMaxMs) win.lagMaxMs = lag;
  let from = lastTick + 1;
  if (tickNo - from >= nslots) {
    // More than a whole period late: send one period's worth, count the rest.
    for (let s = 0; s < nslots; s++) c.skippedFrames += slots[s].length * Math.floor((tickNo - from - s) / nslots);
    from = tickNo - nslots + 1;
  }
  for (let k = from; k <= tickNo; k++) {
    const list = slots[k % nslots];
    for (let i = 0; i < list.length; i++) list[i].sendAppend(now);
  }
  lastTick = tickNo;
}

function snapshot(): Counters {
  return { ...c, closeCodes: { ...c.closeCodes }, failReasons: { ...c.failReasons } };
}

/**
 * What a session open at the stop still waits for: appends sent after its last
 * echo (echoes come back in order, so an append a later echo overtook is lost,
 * not in flight), or commits without their response.done.
 */
function unanswered(s: Session): number {
  return cfg.mode === 'echo' ? s.seq - 1 - s.lastEcho : cfg.mode === 'respond' ? s.commitTimes.length : 0;
}

/**
 * The operator stopped the run (SIGINT/SIGTERM): open no more sessions, and
 * answer with the totals once every session open now has its answers back,
 * or after drainMs. What is still unanswered then on those sessions was in
 * flight at the stop (`inFlight`), not lost. Runs once per run, off the send path.
 */
function interrupt(drainMs: number): void {
  c.notStarted += sessions.length - nextToOpen;
  nextToOpen = sessions.length;
  rampReported = true;
  const held = sessions.filter((s) => s.ready && !s.closed);
  const until = performance.now() + drainMs;
  const poll = (): void => {
    let waiting = 0;
    for (const s of held) waiting += unanswered(s);
    if (waiting > 0 && performance.now() < until) {
      setTimeout(poll, 20);
      return;
    }
    c.inFlight = waiting;
    post({ ev: 'totals', counters: snapshot() });
  };
  poll();
}

function onCommand(msg: WorkerCommand): void {
  switch (msg.cmd) {
    case 'send':
      sending = true;
      break;
    case 'mark':
      rtt.reset();
      ttfa.reset();
      done.reset();
      win.sent = 0;
      win.recv = 0;
      win.sentBytes = 0;
      win.recvBytes = 0;
      win.lagMaxMs = 0;
      rttSeries = [];
      winElu = performance.eventLoopUtilization();
      win.at = performance.now();
      post({ ev: 'marked' });
      break;
    case 'window': {
      const ms = performance.now() - win.at;
      post({
        ev: 'window',
        ms,
        sent: win.sent,
        recv: win.recv,
        sentBytes: win.sentBytes,
        recvBytes: win.recvBytes,
        elu: performance.eventLoopUtilization(winElu).utilization,
        lagMaxMs: win.lagMaxMs,
        rttSeriesMs: SERIES_MS,
        rttSeries: Array.from(rttSeries, (v) => (v === undefined ? 0 : Math.round(v * 10) / 10)),
        rtt: rtt.toJSON(),
        ttfa: ttfa.toJSON(),
        done: done.toJSON(),
      });
      win.at = 0;
      break;
    }
    case 'progress': {
      const now = performance.eventLoopUtilization();
      post({
        ev: 'progress',
        counters: snapshot(),
        live: live.toJSON(),
        elu: performance.eventLoopUtilization(now, liveElu).utilization,
      });
      liveElu = now;
      live.reset();
      break;
    }
    case 'stop':
      sending = false;
      if (msg.interrupted === true) interrupt(msg.drainMs);
      else setTimeout(() => post({ ev: 'totals', counters: snapshot() }), msg.drainMs);
      break;
    case 'close': {
      closing = true;
      clearInterval(timer);
      for (const s of sessions) if (s.sock !== null && !s.closed) s.sock.close(1000);
      setTimeout(() => {
        for (const s of sessions) if (s.sock !== null && !s.closed) s.sock.destroy();
        post({ ev: 'closed' });
      }, msg.graceMs);
      break;
    }
  }
}

port.on('message', onCommand);
t0 = performance.now();
const timer = setInterval(tick, cfg.tickMs);
tick();
post({ ev: 'init', frameBytes: appendLen, slots: nslots });
