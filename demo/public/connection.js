// One WebSocket to the proxy: the URL a front end would build, counters for
// every frame each way, the two round-trip times, and a readable sentence for
// however the connection ends.

export const REFUSED_MESSAGE =
  'Connection refused by the proxy (origin not allowed, rate limited, or at capacity) — check the proxy logs';

/** The Voice Live GA version the official SDK and the successor proxy use. */
export const API_VERSION = '2026-07-15';

/** Query parameters of docs/contract.md §1, from the form's values, in the service's own spelling. */
export function buildUrl(base, f) {
  const q = new URLSearchParams();
  q.set('api-version', API_VERSION);
  if (f.mode === 'agent') {
    // An id from the first agent API (asst_...) or an Agent Service v2 agent name.
    if (f.agentId) q.set(f.agentId.startsWith('asst_') ? 'agent-id' : 'agent-name', f.agentId);
    if (f.projectName) q.set('agent-project-name', f.projectName);
  } else if (f.model) {
    q.set('model', f.model);
  }
  if (f.token) q.set('token', f.token);
  if (f.ticket) q.set('ticket', f.ticket);
  const query = q.toString();
  const url = query ? `${base}?${query}` : base;
  // What the page shows: the token is the user's secret, even on screen (and a ticket is a pass).
  return { url, shown: url.replace(/([?&](token|ticket)=)[^&]*/g, '$1…') };
}

/**
 * CLIENT_AUTH=ticket: a real app asks its own backend for a ticket for the
 * signed-in user; the demo asks the proxy's demo-only /demo/ticket. null when
 * the proxy does not ask for tickets.
 */
export async function fetchTicket() {
  const res = await fetch('/demo/ticket', { cache: 'no-store' });
  if (!res.ok) return null;
  return (await res.json()).ticket ?? null;
}

const utf8 = new TextEncoder();

export class ProxyConnection {
  constructor(url, handlers) {
    this.handlers = handlers;
    this.opened = false;
    this.closedByUser = false;
    this.lastError = null;
    this.stats = {
      framesSent: 0,
      bytesSent: 0,
      framesReceived: 0,
      bytesReceived: 0,
      audioBytesSent: 0,
      audioBytesReceived: 0,
      commits: 0,
      rttAudio: -1,
      rttAudioSum: 0,
      rttAudioCount: 0,
      rttSession: -1,
    };
    this.commitAt = 0;
    this.sessionUpdateAt = 0;
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => {
      this.opened = true;
      handlers.open();
    };
    this.ws.onmessage = (e) => this.receive(e.data);
    this.ws.onclose = (e) => handlers.close(this.describeClose(e.code, e.reason), e.code, e.reason);
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(event) {
    if (!this.isOpen) return false;
    const text = JSON.stringify(event);
    this.ws.send(text);
    this.stats.framesSent++;
    this.stats.bytesSent += text.length; // JSON of ASCII and base64: one byte per char
    if (event.type === 'input_audio_buffer.commit') {
      this.stats.commits++;
      this.commitAt = performance.now();
    } else if (event.type === 'session.update') {
      this.sessionUpdateAt = performance.now();
    }
    return true;
  }

  appendAudio(b64, pcmBytes) {
    if (this.send({ type: 'input_audio_buffer.append', audio: b64 })) this.stats.audioBytesSent += pcmBytes;
  }

  close() {
    this.closedByUser = true;
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'user disconnected');
  }

  receive(data) {
    const s = this.stats;
    s.framesReceived++;
    if (typeof data !== 'string') {
      s.bytesReceived += data.byteLength;
      this.handlers.event({ type: '(binary frame)' });
      return;
    }
    s.bytesReceived += utf8.encode(data).length;
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      this.handlers.event({ type: '(not JSON)' });
      return;
    }
    const now = performance.now();
    if (event.type === 'response.audio.delta') {
      if (typeof event.delta === 'string') s.audioBytesReceived += (event.delta.length * 3) >> 2;
      if (this.commitAt !== 0) {
        s.rttAudio = now - this.commitAt;
        s.rttAudioSum += s.rttAudio;
        s.rttAudioCount++;
        this.commitAt = 0;
      }
    } else if (event.type === 'session.updated' && this.sessionUpdateAt !== 0) {
      s.rttSession = now - this.sessionUpdateAt;
      this.sessionUpdateAt = 0;
    } else if (event.type === 'error') {
      this.lastError = event.error || {};
    }
    this.handlers.event(event);
  }

  /** The sentence the page shows when the socket closes. */
  describeClose(code, reason) {
    if (!this.opened) {
      // A refusal before the upgrade (403, 429, 503) reaches a browser only as 1006.
      return this.closedByUser ? 'Connection cancelled' : `${REFUSED_MESSAGE} (close code ${code})`;
    }
    if (this.closedByUser && (code === 1000 || code === 1005)) return '';
    const why = reason ? ` ${reason}` : '';
    const err = this.lastError
      ? ` — error event: ${this.lastError.code || 'error'}: ${this.lastError.message || ''}`
      : '';
    if (code === 1006) return `Connection lost (close code 1006, no close frame)${err}`;
    return `Closed by the proxy: close code ${code}${why}${err}`;
  }
}
