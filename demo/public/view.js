// Everything the page writes into the DOM: status and error lines, the live
// figures, the mic meter and the event list. Figures are redrawn on a timer,
// never per frame. Each figure's raw number is also in its `data-value`
// attribute, which is what the browser test reads.

const EVENTS_CAP = 40;

const $ = (id) => document.getElementById(id);

export function setState(state, text) {
  document.body.dataset.state = state;
  $('status').textContent = text;
}

export function showError(text) {
  const el = $('error');
  el.textContent = text;
  el.hidden = text === '';
}

export function setText(id, text) {
  $(id).textContent = text;
}

function bytes(n) {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(2)} MB`;
}

const seconds = (s) => `${s.toFixed(1)} s`;
const ms = (v) => (v < 0 ? '–' : `${Math.round(v)} ms`);
const count = (n) => String(n);

const FORMATS = {
  framesSent: count,
  framesReceived: count,
  bytesSent: bytes,
  bytesReceived: bytes,
  audioSecondsSent: seconds,
  audioSecondsReceived: seconds,
  rttAudio: ms,
  rttAudioAvg: ms,
  rttSession: ms,
  audioChunksScheduled: count,
  playbackQueuedMs: ms,
  playbackGaps: count,
  commits: count,
};

/** Writes each figure into its <output data-stat=...>, text and data-value. */
export function renderFigures(values) {
  for (const el of document.querySelectorAll('output[data-stat]')) {
    const key = el.dataset.stat;
    const v = values[key];
    if (v === undefined) continue;
    const raw = typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v);
    if (el.dataset.value === raw) continue;
    el.dataset.value = raw;
    el.textContent = FORMATS[key](v);
  }
}

/** Level meter on a dB scale: -60 dBFS is empty, 0 dBFS is full. */
export function renderLevel(rms) {
  const db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  const fill = Math.max(0, Math.min(1, (db + 60) / 60));
  // CSSOM writes are allowed under the page's CSP (style-src 'self'); inline style attributes are not.
  $('mic-bar').style.transform = `scaleX(${fill.toFixed(3)})`;
  $('mic-db').textContent = db === -Infinity ? '-∞ dBFS' : `${db.toFixed(0)} dBFS`;
}

/** Newest first; a run of the same type is one line with a count (audio deltas come in dozens). */
export class EventLog {
  constructor() {
    this.items = [];
    this.dirty = false;
  }

  add(type) {
    const head = this.items[0];
    if (head && head.type === type) head.count++;
    else {
      this.items.unshift({ type, count: 1, at: new Date() });
      if (this.items.length > EVENTS_CAP) this.items.pop();
    }
    this.dirty = true;
  }

  clear() {
    this.items = [];
    this.dirty = true;
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    const list = $('events');
    list.replaceChildren(
      ...this.items.map((it) => {
        const li = document.createElement('li');
        const time = document.createElement('span');
        time.className = 'muted';
        time.textContent = it.at.toLocaleTimeString();
        const type = document.createElement('code');
        type.textContent = it.type;
        li.append(time, ' ', type);
        if (it.count > 1) li.append(` ×${it.count}`);
        if (it.type === 'error') li.className = 'bad';
        return li;
      }),
    );
  }
}
