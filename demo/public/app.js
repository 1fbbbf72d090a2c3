// The demo page: connect form, turns (push-to-talk or hands-free), and the
// Voice Live events that drive playback. Audio capture is in mic.js and
// pcm-worklet.js, playback in player.js, the socket in connection.js and the
// DOM in view.js.
import { buildUrl, fetchTicket, ProxyConnection } from './connection.js';
import { CHUNK_MS, startMicrophone, toBase64 } from './mic.js';
import { decodePcm16, OUTPUT_RATE, Player } from './player.js';
import { EventLog, renderFigures, renderLevel, setState, setText, showError } from './view.js';

/** Hands-free: a chunk louder than this (about -34 dBFS) is speech. */
const SPEECH_RMS = 0.02;
const SILENCE_COMMIT_MS = 800;
/** Hands-free: audio kept from before speech starts, so the first syllable is not cut. */
const PRE_ROLL_CHUNKS = 6;
const INPUT_BYTES_PER_SECOND = 48000;

const $ = (id) => document.getElementById(id);
const form = $('connect-form');
const log = new EventLog();

let ctx = null;
let player = null;
let mic = null;
let conn = null;
let level = 0;
const turn = { talking: false, sent: 0, voiced: false, quietMs: 0, preRoll: [] };
const reply = { active: false, hasAudio: false, text: '' };

function values() {
  const f = new FormData(form);
  const get = (k) => String(f.get(k) || '').trim();
  return {
    mode: get('mode'),
    model: get('model'),
    token: get('token'),
    agentId: get('agentId'),
    projectName: get('projectName'),
    proxyUrl: get('proxyUrl') || `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
  };
}

function showUrl() {
  const v = values();
  for (const el of document.querySelectorAll('[data-mode]')) el.hidden = el.dataset.mode !== v.mode;
  setText('ws-url', buildUrl(v.proxyUrl, v).shown);
}

async function ensureAudio() {
  if (ctx === null) {
    // Created inside the click handler, so autoplay policy lets it run.
    ctx = new AudioContext({ latencyHint: 'interactive' });
    player = new Player(ctx);
    try {
      mic = await startMicrophone(ctx, onMicChunk);
      setText('mic-status', `Microphone: ${mic.label || 'on'} (${ctx.sampleRate} Hz → 24000 Hz)`);
    } catch (err) {
      setText('mic-status', `Microphone unavailable: ${err.message || err.name}`);
    }
  }
  await ctx.resume();
}

async function connect(e) {
  e.preventDefault();
  if (conn !== null && conn.ws.readyState <= WebSocket.OPEN) return;
  showError('');
  setState('connecting', 'Starting audio…');
  await ensureAudio();
  const v = values();
  const ticket = await fetchTicket().catch(() => null);
  const { url, shown } = buildUrl(v.proxyUrl, { ...v, ticket });
  setState('connecting', `Connecting to ${shown}${ticket ? ' (with a ticket from /demo/ticket)' : ''}`);
  log.clear();
  $('connect').disabled = true;
  $('disconnect').disabled = false;
  conn = new ProxyConnection(url, { open: onOpen, event: onEvent, close: onClose });
}

function onOpen() {
  setState('open', 'Connected: waiting for session.created');
  $('talk').disabled = false;
}

function onClose(message, code) {
  endTurn(false);
  reply.active = false;
  const byUser = conn !== null && conn.closedByUser;
  setState(message === '' ? 'closed' : 'error', `Disconnected (close code ${code})`);
  if (message !== '' || !byUser) showError(message);
  $('connect').disabled = false;
  $('disconnect').disabled = true;
  $('talk').disabled = true;
}

function onEvent(ev) {
  log.add(ev.type);
  switch (ev.type) {
    case 'session.created':
      setState('open', `Session ${ev.session && ev.session.id ? ev.session.id : ''} ready: hold Talk and speak`);
      conn.send({ type: 'session.update', session: { input_audio_format: 'pcm16', output_audio_format: 'pcm16' } });
      break;
    case 'input_audio_buffer.speech_started':
      // The service heard the user start talking (server VAD): stop talking over them.
      player.stop();
      break;
    case 'conversation.item.input_audio_transcription.completed':
      setText('you-said', ev.transcript || '');
      break;
    case 'response.created':
      reply.active = true;
      reply.hasAudio = false;
      reply.text = '';
      setText('reply-said', '');
      break;
    case 'response.audio.delta':
      player.enqueue(decodePcm16(ev.delta), reply.hasAudio);
      reply.hasAudio = true;
      break;
    case 'response.audio_transcript.delta':
      reply.text += ev.delta || '';
      setText('reply-said', reply.text);
      break;
    case 'response.done':
      reply.active = false;
      break;
    case 'error':
      showError(`Error event: ${ev.error && ev.error.code}: ${ev.error && ev.error.message}`);
      break;
  }
}

function sendChunk(pcm) {
  conn.appendAudio(toBase64(pcm), pcm.byteLength);
  turn.sent++;
}

function onMicChunk({ pcm, rms }) {
  level = Math.max(rms, level * 0.7);
  if (conn === null || !conn.isOpen) return;
  if (!$('hands-free').checked) {
    if (turn.talking) sendChunk(pcm);
    return;
  }
  // Hands-free is half-duplex: the mic would otherwise hear the reply and send it back.
  if (player.playing) {
    turn.voiced = false;
    turn.preRoll.length = 0;
    return;
  }
  const voiced = rms > SPEECH_RMS;
  if (!turn.voiced) {
    turn.preRoll.push(pcm);
    if (turn.preRoll.length > PRE_ROLL_CHUNKS) turn.preRoll.shift();
    if (!voiced) return;
    turn.voiced = true;
    turn.quietMs = 0;
    for (const p of turn.preRoll.splice(0)) sendChunk(p);
    return;
  }
  sendChunk(pcm);
  turn.quietMs = voiced ? 0 : turn.quietMs + CHUNK_MS;
  if (turn.quietMs >= SILENCE_COMMIT_MS) {
    turn.voiced = false;
    commit();
  }
}

function commit() {
  if (turn.sent === 0 || conn === null) return;
  turn.sent = 0;
  conn.send({ type: 'input_audio_buffer.commit' });
}

function startTalking() {
  if (conn === null || !conn.isOpen || turn.talking) return;
  // Barge-in: talking over the reply stops it, here and at the service.
  player.stop();
  if (reply.active) conn.send({ type: 'response.cancel' });
  turn.talking = true;
  $('talk').classList.add('active');
}

function endTurn(send) {
  if (!turn.talking) return;
  turn.talking = false;
  $('talk').classList.remove('active');
  if (send) commit();
  else turn.sent = 0;
}

function render() {
  const s = conn === null ? null : conn.stats;
  const pick = (k, d = 0) => (s === null ? d : s[k]);
  renderFigures({
    framesSent: pick('framesSent'),
    bytesSent: pick('bytesSent'),
    framesReceived: pick('framesReceived'),
    bytesReceived: pick('bytesReceived'),
    audioSecondsSent: pick('audioBytesSent') / INPUT_BYTES_PER_SECOND,
    audioSecondsReceived: pick('audioBytesReceived') / (OUTPUT_RATE * 2),
    rttAudio: pick('rttAudio', -1),
    rttSession: pick('rttSession', -1),
    rttAudioAvg: s !== null && s.rttAudioCount > 0 ? s.rttAudioSum / s.rttAudioCount : -1,
    commits: pick('commits'),
    audioChunksScheduled: player === null ? 0 : player.chunksScheduled,
    playbackQueuedMs: player === null ? 0 : player.queuedSeconds() * 1000,
    playbackGaps: player === null ? 0 : player.gaps,
  });
  renderLevel(level);
  level *= 0.85;
  log.render();
}

form.addEventListener('submit', (e) => {
  connect(e).catch((err) => {
    setState('error', 'Not connected');
    showError(String(err && err.message ? err.message : err));
    $('connect').disabled = false;
  });
});
form.addEventListener('input', showUrl);
$('disconnect').addEventListener('click', () => conn !== null && conn.close());
const talk = $('talk');
talk.addEventListener('pointerdown', (e) => {
  talk.setPointerCapture(e.pointerId);
  startTalking();
});
talk.addEventListener('pointerup', () => endTurn(true));
talk.addEventListener('pointercancel', () => endTurn(true));
const typing = (e) => e.target instanceof HTMLInputElement && e.target.type !== 'checkbox' && e.target.type !== 'radio';
document.addEventListener('keydown', (e) => {
  if (e.code !== 'Space' || typing(e)) return;
  e.preventDefault();
  // Space would also "click" a focused button or checkbox on keyup (Disconnect!).
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  if (!e.repeat) startTalking();
});
document.addEventListener('keyup', (e) => {
  if (e.code !== 'Space' || typing(e)) return;
  e.preventDefault();
  endTurn(true);
});

$('proxy-url').value = values().proxyUrl;
showUrl();
setInterval(render, 100);
