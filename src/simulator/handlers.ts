// Client events -> simulator behaviour. Every handler is a module-level
// function that reaches its state through the session object, so no closure
// is created per socket or per message.
import { isSilent, seconds, TONE } from './audio';
import { errorEvent, event, isObject, mergeSession, newId } from './events';
import type { Json } from './events';
import { BurstJob, ResponseJob } from './response';
import { sdpAnswer } from './rtc';
import { enqueue, send, sendText } from './session';
import type { SimSession } from './session';

/** Largest burst one event may ask for; keeps a typo from pinning a core. */
export const MAX_BURST_BYTES = 1 << 30;

/**
 * Largest frame a burst may ask for. A burst streams under backpressure, so
 * what one request makes the simulator hold is its frame size, not its total:
 * the shared pattern buffer (grown to the largest frame) plus about one frame
 * in the socket's send buffer past the 256 KiB pause, about 2 x frameBytes.
 * Any page can send this event through the demo, so the frame is capped.
 */
export const MAX_BURST_FRAME_BYTES = 1024 * 1024;

// Text frames starting with these bytes are simulator controls even in raw
// echo mode (so a test can leave echo mode or close). Anything else is
// echoed untouched; this prefix check is all the parsing echo mode does.
const CONTROL_PREFIX = Buffer.from('{"type":"simulator.');

/** A text or binary frame from the client; `data` is valid only during the call. */
export function onMessage(s: SimSession, data: ArrayBuffer, isBinary: boolean): void {
  const stats = s.env.stats;
  stats.framesIn++;
  stats.bytesIn += data.byteLength;
  if (s.echoRaw) {
    if (isBinary || !isControl(data)) {
      // uWS copies the payload into its send buffer: no copy needed here.
      send(s, data, isBinary, data.byteLength);
      return;
    }
  } else if (isBinary) {
    return; // the service speaks JSON; binary frames are counted and dropped
  }
  let msg: unknown;
  try {
    msg = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    sendText(s, errorEvent('invalid_json', 'The message is not valid JSON.', null, null));
    return;
  }
  if (!isObject(msg) || typeof msg.type !== 'string') {
    sendText(s, errorEvent('missing_required_parameter', "Missing required parameter: 'type'.", 'type', null));
    return;
  }
  dispatch(s, msg.type, msg);
}

function isControl(data: ArrayBuffer): boolean {
  if (data.byteLength < CONTROL_PREFIX.length) return false;
  return Buffer.from(data, 0, CONTROL_PREFIX.length).equals(CONTROL_PREFIX);
}

function dispatch(s: SimSession, type: string, msg: Json): void {
  switch (type) {
    case 'session.update':
      return sessionUpdate(s, msg);
    case 'input_audio_buffer.append':
      return append(s, msg);
    case 'input_audio_buffer.commit':
      return commit(s, msg);
    case 'input_audio_buffer.clear':
      s.input.clear();
      return sendText(s, event('input_audio_buffer.cleared', {}));
    case 'response.create':
      return respond(s, s.input.take(), msg);
    case 'response.cancel':
      return cancel(s, msg);
    case 'conversation.item.create':
      return itemCreate(s, msg);
    case 'conversation.item.truncate':
      return sendText(
        s,
        event('conversation.item.truncated', {
          item_id: msg.item_id,
          content_index: msg.content_index,
          audio_end_ms: msg.audio_end_ms,
        }),
      );
    case 'conversation.item.delete':
      return sendText(s, event('conversation.item.deleted', { item_id: msg.item_id }));
    case 'rtc.call.sdp.create':
      return rtcCall(s, msg);
    case 'simulator.echo_raw':
      s.echoRaw = !s.echoRaw;
      return;
    case 'simulator.close':
      return simClose(s, msg);
    case 'simulator.burst':
      return burst(s, msg);
    default:
      return sendText(
        s,
        errorEvent('unknown_event', `Unknown event type '${type.slice(0, 100)}'.`, 'type', msg.event_id),
      );
  }
}

function sessionUpdate(s: SimSession, msg: Json): void {
  if (!isObject(msg.session)) {
    sendText(
      s,
      errorEvent('missing_required_parameter', "Missing required parameter: 'session'.", 'session', msg.event_id),
    );
    return;
  }
  mergeSession(s.session, msg.session);
  sendText(s, event('session.updated', { session: s.session }));
}

function append(s: SimSession, msg: Json): void {
  if (typeof msg.audio !== 'string') {
    sendText(
      s,
      errorEvent('missing_required_parameter', "Missing required parameter: 'audio'.", 'audio', msg.event_id),
    );
    return;
  }
  s.input.append(Buffer.from(msg.audio, 'base64'));
}

function commit(s: SimSession, msg: Json): void {
  const audio = s.input.take();
  const itemId = newId('item');
  const previous = s.lastItemId;
  s.lastItemId = itemId;
  sendText(s, event('input_audio_buffer.committed', { previous_item_id: previous, item_id: itemId }));
  const item = {
    id: itemId,
    object: 'realtime.item',
    type: 'message',
    status: 'completed',
    role: 'user',
    content: [{ type: 'input_audio', transcript: null }],
  };
  itemAdded(s, previous, item);
  const silent = isSilent(audio);
  sendText(
    s,
    event('conversation.item.input_audio_transcription.completed', {
      item_id: itemId,
      content_index: 0,
      transcript: silent ? '(silence)' : `(${seconds(audio)} seconds of speech)`,
    }),
  );
  respond(s, audio, msg);
}

/** Echo the user's audio when there is some, else the tone. */
function respond(s: SimSession, audio: Buffer, msg: Json): void {
  const job = isSilent(audio)
    ? new ResponseJob(TONE, 'I heard silence, so here is a tone.', seconds(audio), s.names)
    : new ResponseJob(
        audio,
        `You said something ${seconds(audio)} seconds long; here it is back.`,
        seconds(audio),
        s.names,
      );
  if (!enqueue(s, job)) {
    sendText(
      s,
      errorEvent(
        'conversation_already_has_active_response',
        'Conversation already has an active response.',
        null,
        msg.event_id,
      ),
    );
  }
}

function cancel(s: SimSession, msg: Json): void {
  // Queued responses that have not started are dropped; the one streaming
  // ends with response.done status `cancelled` on its next step.
  let kept = 0;
  let found = false;
  for (const job of s.jobs) {
    if (job instanceof ResponseJob && !job.cancelled) {
      found = true;
      if (!job.started()) continue;
      job.cancel();
    }
    s.jobs[kept++] = job;
  }
  s.jobs.length = kept;
  if (!found) {
    sendText(s, errorEvent('response_cancel_not_active', 'There is no active response to cancel.', null, msg.event_id));
  }
}

function itemCreate(s: SimSession, msg: Json): void {
  if (!isObject(msg.item)) {
    sendText(s, errorEvent('missing_required_parameter', "Missing required parameter: 'item'.", 'item', msg.event_id));
    return;
  }
  const item = {
    ...msg.item,
    id: typeof msg.item.id === 'string' ? msg.item.id : newId('item'),
    object: 'realtime.item',
    status: 'completed',
  };
  const previous = s.lastItemId;
  s.lastItemId = item.id;
  itemAdded(s, previous, item);
}

/** `conversation.item.created`, or in the GA protocol `conversation.item.added` then `.done`. */
function itemAdded(s: SimSession, previous: string | null, item: Json): void {
  sendText(s, event(s.names.itemAdded, { previous_item_id: previous, item }));
  if (s.names.ga) sendText(s, event('conversation.item.done', { previous_item_id: previous, item }));
}

/** The WebRTC control channel's offer/answer (only on /voice-live/realtime/calls). */
function rtcCall(s: SimSession, msg: Json): void {
  if (!s.call) {
    sendText(s, errorEvent('unknown_event', "Unknown event type 'rtc.call.sdp.create'.", 'type', msg.event_id));
    return;
  }
  const rtcError = (code: string, message: string): void =>
    sendText(
      s,
      event('rtc.call.error', {
        operation: 'sdp.create',
        rtc_call_id: s.rtcCallId,
        error: {
          type: 'invalid_request_error',
          code,
          message,
          param: 'sdp_offer',
          event_id: typeof msg.event_id === 'string' ? msg.event_id : null,
        },
      }),
    );
  if (s.rtcCallId !== null) return rtcError('call_already_created', 'This control channel already has a call.');
  if (typeof msg.sdp_offer !== 'string')
    return rtcError('missing_required_parameter', "Missing required parameter: 'sdp_offer'.");
  const answer = sdpAnswer(msg.sdp_offer);
  if (!answer.ok) return rtcError('invalid_sdp', answer.message);
  s.rtcCallId = newId('rtc');
  sendText(s, event('rtc.call.sdp.created', { rtc_call_id: s.rtcCallId, sdp_answer: answer.answer }));
  if (isObject(msg.session)) {
    mergeSession(s.session, msg.session);
    sendText(s, event('session.updated', { session: s.session }));
  }
}

function simClose(s: SimSession, msg: Json): void {
  const ws = s.ws;
  if (ws === null) return;
  if (msg.abrupt === true) {
    ws.close(); // no close frame: the peer sees 1006, as on a dropped connection
    return;
  }
  if (!Number.isInteger(msg.code)) {
    ws.end(); // a close frame without a code: the peer sees 1005
    return;
  }
  const reason = typeof msg.reason === 'string' ? truncateUtf8(msg.reason, 123) : '';
  ws.end(msg.code as number, reason);
}

/** A close reason fits 123 bytes; cut on a character boundary. */
function truncateUtf8(text: string, max: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= max) return text;
  let end = max;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

function burst(s: SimSession, msg: Json): void {
  const bytes = msg.bytes;
  const frameBytes = msg.frameBytes === undefined ? 64 * 1024 : msg.frameBytes;
  if (!isCount(bytes, 0, MAX_BURST_BYTES)) {
    sendText(
      s,
      errorEvent('invalid_value', 'simulator.burst needs integer bytes from 0 to 2^30.', 'bytes', msg.event_id),
    );
    return;
  }
  if (!isCount(frameBytes, 1, MAX_BURST_FRAME_BYTES)) {
    sendText(
      s,
      errorEvent(
        'invalid_value',
        `simulator.burst needs integer frameBytes from 1 to ${MAX_BURST_FRAME_BYTES}.`,
        'frameBytes',
        msg.event_id,
      ),
    );
    return;
  }
  if (!enqueue(s, new BurstJob(bytes, frameBytes))) {
    sendText(s, errorEvent('conversation_already_has_active_response', 'Too many queued jobs.', null, msg.event_id));
  }
}

function isCount(v: unknown, min: number, max: number): v is number {
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
}
