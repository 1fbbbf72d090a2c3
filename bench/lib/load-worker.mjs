// One load-generator process (forked by streams.mjs): opens its share of the
// sessions, then sends audio frames for all of them from ONE shared timer at
// real-time cadence, and measures what comes back. Talks to the parent over
// IPC only; every number it reports is its own.
//
// Cadence: the chunk period is cut into `slots` ticks of `tickMs`; session i
// sends on slot i % slots. Each timer wake-up sends for every slot whose time
// has come (catching up after a late wake-up), so the rate never drifts and
// a late generator shows up as `lagMaxMs`, not as silently fewer frames.
import { Histogram } from './histogram.mjs';
import { RawSocket, OP_TEXT, buildFrame, patchDigits, readDigits } from './raw-ws.mjs';

const SAMPLE_RATE = 24000;

// Client event layout. The echo of an append comes back byte-identical, so
// its sequence number and send time are read from fixed offsets.
const APPEND_HEAD = '{"type":"input_audio_buffer.append","event_id":"e';
const SEQ_W = 9;
const TIME_W = 13;
const SEQ_AT = APPEND_HEAD.length;
const TIME_AT = SEQ_AT + SEQ_W + 1;
const COMMIT_PAYLOAD = Buffer.from('{"type":"input_audio_buffer.commit"}');
const ECHO_ON = Buffer.from('{"type":"simulator.echo_raw"}');

const CREATED = Buffer.from('{"type":"session.created"');
const AUDIO_DELTA = Buffer.from('{"type":"response.audio.delta"');
const RESPONSE_DONE = Buffer.from('{"type":"response.done"');
const ERROR_EVT = Buffer.from('{"type":"error"');

function startsWith(buf, start, end, prefix) {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/** A handful of different chunks of speech-like PCM (sweeping tones + noise), base64. */
function audioChunks(chunkMs, variants) {
  const samples = Math.round((SAMPLE_RATE * chunkMs) / 1000);
  const out = [];
  let seed = 12345;
  for (let v = 0; v < variants; v++) {
    const pcm = Buffer.alloc(samples * 2);
    const f = 150 + v * 37;
    for (let i = 0; i < samples; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed / 0x7fffffff - 0.5) * 2000;
      const s = 6000 * Math.sin((2 * Math.PI * f * (i + v * samples)) / SAMPLE_RATE) + noise;
      pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s))), i * 2);
    }
    out.push(pcm.toString('base64'));
  }
  return out;
}

let cfg = null;
let templates = []; // { frame, payloadOffset, payloadLen }
let commitFrame = null;
let echoFrame = null;
let sessions = [];
let slots = [];
let nslots = 1;
let t0 = 0;
let lastTick = -1;
let timer = null;
let sending = false;
let nextToOpen = 0;
let inflight = 0;
let rampReported = false;

const c = {
  opened: 0,
  created: 0,
  failed: 0,
  closedEarly: 0,
  closeCodes: {},
  failReasons: {},
  sent: 0,
  recv: 0,
  sentBytes: 0,
  recvBytes: 0,
  echoes: 0,
  outOfOrder: 0,
  errors: 0,
  commits: 0,
  responses: 0,
  lagMaxMs: 0,
  skippedFrames: 0,
};
const win = { sent: 0, recv: 0, sentBytes: 0, recvBytes: 0, cpu: null, at: 0, lagMaxMs: 0 };
/** The window's slowest echo (ms) per SERIES_MS since the mark: when the slow ones came, not only how slow. */
const SERIES_MS = 100;
let rttSeries = [];
const rtt = new Histogram();
const ttfa = new Histogram();
const done = new Histogram();

class Session {
  constructor(idx) {
    this.idx = idx;
    this.slot = idx % nslots;
    this.sock = null;
    this.ready = false;
    this.closed = false;
    this.seq = 0;
    this.lastEcho = -1;
    this.sinceCommit = 0;
    this.commitTimes = [];
    this.gotDelta = false;
  }

  connect() {
    const localAddress = cfg.sourceIps ? cfg.sourceIps[this.idx % cfg.sourceIps.length] : undefined;
    this.sock = new RawSocket(cfg.url, { headers: cfg.headers, localAddress, rejectUnauthorized: !cfg.insecure }, this);
  }

  onOpen() {
    c.opened++;
  }

  onFrame(op, buf, start, end, now) {
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
      if (op === OP_TEXT && end - start === templates[0].payloadLen && buf[start + SEQ_AT - 1] === 101 /* e */) {
        c.echoes++;
        const seq = readDigits(buf, start + SEQ_AT, SEQ_W);
        if (seq <= this.lastEcho) c.outOfOrder++;
        this.lastEcho = seq;
        if (win.at !== 0) {
          const us = now * 1000 - readDigits(buf, start + TIME_AT, TIME_W);
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
          if (win.at !== 0) ttfa.record((now - this.commitTimes[0]) * 1000);
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

  becomeReady() {
    this.ready = true;
    c.created++;
    inflight--;
    if (cfg.mode === 'echo') this.sock.send(echoFrame);
    if (cfg.mode !== 'idle') slots[this.slot].push(this);
  }

  onClose(code, why) {
    if (this.closed) return;
    this.closed = true;
    if (!this.ready) {
      inflight--;
      c.failed++;
      c.failReasons[why] = (c.failReasons[why] ?? 0) + 1;
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

  sendAppend(now) {
    const t = templates[this.seq % templates.length];
    const f = Buffer.allocUnsafe(t.frame.length);
    t.frame.copy(f);
    patchDigits(f, t.payloadOffset, SEQ_AT, this.seq, SEQ_W);
    patchDigits(f, t.payloadOffset, TIME_AT, Math.round(now * 1000), TIME_W);
    this.seq++;
    this.sock.send(f);
    c.sent++;
    c.sentBytes += t.payloadLen;
    if (win.at !== 0) {
      win.sent++;
      win.sentBytes += t.payloadLen;
    }
    if (cfg.mode === 'respond' && ++this.sinceCommit >= cfg.commitEvery) {
      this.sinceCommit = 0;
      this.sock.send(commitFrame);
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

let closing = false;

function tick() {
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
    process.send({ ev: 'ramped', counters: counters() });
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

function counters() {
  return { ...c, closeCodes: { ...c.closeCodes }, failReasons: { ...c.failReasons } };
}

function init(msg) {
  cfg = msg.cfg;
  nslots = Math.max(1, Math.round(cfg.chunkMs / cfg.tickMs));
  for (let s = 0; s < nslots; s++) slots.push([]);
  const variants = audioChunks(cfg.chunkMs, 8);
  templates = variants.map((b64) => {
    const payload = Buffer.from(
      APPEND_HEAD + '0'.repeat(SEQ_W) + 't' + '0'.repeat(TIME_W) + '","audio":"' + b64 + '"}',
    );
    const { frame, payloadOffset } = buildFrame(payload);
    return { frame, payloadOffset, payloadLen: payload.length };
  });
  commitFrame = buildFrame(COMMIT_PAYLOAD).frame;
  echoFrame = buildFrame(ECHO_ON).frame;
  for (let i = 0; i < cfg.count; i++) sessions.push(new Session(cfg.first + i));
  t0 = performance.now();
  timer = setInterval(tick, cfg.tickMs);
  tick();
  process.send({ ev: 'init', frameBytes: templates[0].payloadLen, slots: nslots });
}

process.on('message', (msg) => {
  switch (msg.cmd) {
    case 'init':
      init(msg);
      break;
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
      win.cpu = process.cpuUsage();
      win.at = performance.now();
      process.send({ ev: 'marked' });
      break;
    case 'window': {
      const cpu = process.cpuUsage(win.cpu);
      const ms = performance.now() - win.at;
      const out = {
        ev: 'window',
        ms,
        sent: win.sent,
        recv: win.recv,
        sentBytes: win.sentBytes,
        recvBytes: win.recvBytes,
        cpuUs: cpu.user + cpu.system,
        lagMaxMs: win.lagMaxMs,
        rttSeriesMs: SERIES_MS,
        rttSeries: Array.from(rttSeries, (v) => (v === undefined ? 0 : Math.round(v * 10) / 10)),
        rtt: rtt.toJSON(),
        ttfa: ttfa.toJSON(),
        done: done.toJSON(),
      };
      win.at = 0;
      process.send(out);
      break;
    }
    case 'stop':
      sending = false;
      setTimeout(() => process.send({ ev: 'totals', counters: counters() }), msg.drainMs);
      break;
    case 'close': {
      closing = true;
      clearInterval(timer);
      for (const s of sessions) if (s.sock !== null && !s.closed) s.sock.close(1000);
      setTimeout(() => {
        for (const s of sessions) if (s.sock !== null && !s.closed) s.sock.destroy();
        process.send({ ev: 'closed' }, () => process.exit(0));
      }, msg.graceMs ?? 1000);
      break;
    }
    default:
      break;
  }
});
process.on('disconnect', () => process.exit(0));
