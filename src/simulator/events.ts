// Server events in the shapes Voice Live (== Azure OpenAI realtime) uses.
// Small, once-per-turn events go through JSON.stringify; the per-chunk audio
// delta is string concatenation onto a prefix built once per response,
// because base64 never needs JSON escaping.
import { randomBytes } from 'node:crypto';

// A per-process prefix keeps ids unique across simulators and restarts; a
// counter after it is cheaper than random bytes per event.
const ID_PREFIX = randomBytes(4).toString('hex');
let idSeq = 0;

export function newId(kind: string): string {
  return kind + '_' + ID_PREFIX + (++idSeq).toString(36);
}

export type Json = Record<string, unknown>;

/** `{"type":...,"event_id":...,...fields}` as a JSON text frame. */
export function event(type: string, fields: Json): string {
  return JSON.stringify({ type, event_id: newId('event'), ...fields });
}

/**
 * The realtime API's error event. `clientEventId` echoes the `event_id` of
 * the client event that caused it, as the service does.
 */
export function errorEvent(code: string, message: string, param: string | null, clientEventId: unknown): string {
  return event('error', {
    error: {
      type: 'invalid_request_error',
      code,
      message,
      param,
      event_id: typeof clientEventId === 'string' ? clientEventId : null,
    },
  });
}

export interface AgentParams {
  id: string | null;
  name: string | null;
  version: string | null;
  project_name: string;
  conversation_id: string | null;
}

/** What the upgrade URL told the simulator about the session it should be. */
export interface SessionParams {
  apiVersion: string | null;
  model: string | null;
  agent: AgentParams | null;
  /** True on the WebRTC control channel (`/voice-live/realtime/calls`). */
  call?: boolean;
}

/**
 * The session object of `session.created`. `model`, `agent` and
 * `api_version` echo the upgrade query so a proxy test can see what arrived.
 */
export function initialSession(id: string, p: SessionParams): Json {
  const session: Json = {
    id,
    object: 'realtime.session',
    model: p.model,
    modalities: ['text', 'audio'],
    instructions: '',
    voice: { name: 'en-US-Ava:DragonHDLatestNeural', type: 'azure-standard' },
    input_audio_format: 'pcm16',
    output_audio_format: 'pcm16',
    input_audio_sampling_rate: 24000,
    input_audio_transcription: null,
    // The simulator has no VAD: a turn ends on input_audio_buffer.commit.
    turn_detection: null,
    tools: [],
    tool_choice: 'auto',
    temperature: 0.8,
    max_response_output_tokens: 'inf',
    api_version: p.apiVersion,
  };
  if (p.agent !== null) session.agent = p.agent;
  return session;
}

/** Fields of `session.update` that can never change. */
// `__proto__` is an own key after JSON.parse; assigning it would swap the prototype.
const FIXED_SESSION_FIELDS = new Set(['id', 'object', 'model', 'agent', 'api_version', '__proto__']);

/** Shallow merge, as the service does: a nested object replaces the old one. */
export function mergeSession(current: Json, update: Json): void {
  for (const key of Object.keys(update)) {
    if (!FIXED_SESSION_FIELDS.has(key)) current[key] = update[key];
  }
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The server event names that differ between the two protocols Voice Live
 * speaks. The dated api-versions use the preview names (what
 * `@azure/ai-voicelive` and the beta `openai` clients listen for); the `v1`
 * label is the OpenAI Realtime GA protocol (what the GA `openai` clients
 * listen for: `response.output_audio.delta`, `conversation.item.added`, ...).
 */
export interface EventNames {
  readonly ga: boolean;
  readonly audioDelta: string;
  readonly audioDone: string;
  readonly transcriptDelta: string;
  readonly transcriptDone: string;
  /** `conversation.item.created` (preview) or `conversation.item.added` (GA). */
  readonly itemAdded: string;
  /** The assistant's audio content part type. */
  readonly audioPart: string;
}

export const PREVIEW_EVENTS: EventNames = Object.freeze({
  ga: false,
  audioDelta: 'response.audio.delta',
  audioDone: 'response.audio.done',
  transcriptDelta: 'response.audio_transcript.delta',
  transcriptDone: 'response.audio_transcript.done',
  itemAdded: 'conversation.item.created',
  audioPart: 'audio',
});

export const GA_EVENTS: EventNames = Object.freeze({
  ga: true,
  audioDelta: 'response.output_audio.delta',
  audioDone: 'response.output_audio.done',
  transcriptDelta: 'response.output_audio_transcript.delta',
  transcriptDone: 'response.output_audio_transcript.done',
  itemAdded: 'conversation.item.added',
  audioPart: 'output_audio',
});

/** The GA protocol's label version (config/api-versions.ts GA_PROTOCOL_API_VERSION). */
const GA_API_VERSION = 'v1';

export function eventNamesFor(apiVersion: string | null): EventNames {
  return apiVersion === GA_API_VERSION ? GA_EVENTS : PREVIEW_EVENTS;
}
