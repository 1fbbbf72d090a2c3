// The Voice Live API versions the proxy knows, and their order.

/**
 * The GA and preview versions Voice Live documents (learn.microsoft.com
 * API references, and the stable/, preview/ and v1/ folders of
 * Azure/azure-rest-api-specs specification/ai/data-plane/VoiceLive).
 */
export const DOCUMENTED_API_VERSIONS: readonly string[] = Object.freeze([
  '2026-07-15',
  '2026-04-10',
  '2025-10-01',
  '2026-06-01-preview',
  '2026-01-01-preview',
  '2025-05-01-preview',
  'v1',
]);
/** The WebRTC control channel (`/voice-live/realtime/calls`) first shipped in this preview. */
export const MIN_WEBRTC_API_VERSION = '2026-01-01-preview';

export const API_VERSION_RE = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** Chronological order of `YYYY-MM-DD[-preview]` (a preview sorts before the GA of the same date). */
export function compareApiVersions(a: string, b: string): number {
  const d = a.slice(0, 10).localeCompare(b.slice(0, 10));
  if (d !== 0) return d;
  return (a.endsWith('-preview') ? 0 : 1) - (b.endsWith('-preview') ? 0 : 1);
}

/**
 * Voice Live's label version for the OpenAI Realtime GA protocol (the
 * `v1` folder of the VoiceLive specification): GA shapes and event names such
 * as `response.output_audio.delta`. The dated versions speak the preview
 * names (`response.audio.delta`) that `@azure/ai-voicelive` and the beta
 * `openai` clients listen for.
 */
export const GA_PROTOCOL_API_VERSION = 'v1';

/** What ALLOWED_API_VERSIONS may list: the dated versions and the `v1` label. */
export const ALLOWED_API_VERSION_RE = /^(v1|\d{4}-\d{2}-\d{2}(-preview)?)$/;

/**
 * The Azure OpenAI realtime api-versions: from the first (`2024-10-01-preview`)
 * up to, not including, the first Voice Live version. A dated `api-version` in
 * that range cannot be a Voice Live version: it is an Azure OpenAI one
 * (`2024-10-01-preview`, `2025-04-01-preview`, ...), which the beta `openai`
 * clients send.
 */
export const FIRST_AZURE_OPENAI_REALTIME_API_VERSION = '2024-10-01-preview';
export const FIRST_VOICE_LIVE_API_VERSION = '2025-05-01-preview';

/** True for an Azure OpenAI realtime api-version (see FIRST_AZURE_OPENAI_REALTIME_API_VERSION). */
export function isAzureOpenAIApiVersion(v: string): boolean {
  return (
    API_VERSION_RE.test(v) &&
    compareApiVersions(v, FIRST_AZURE_OPENAI_REALTIME_API_VERSION) >= 0 &&
    compareApiVersions(v, FIRST_VOICE_LIVE_API_VERSION) < 0
  );
}

/** Which protocol a socket path implies when the client names no version. */
export type RouteProtocol = 'voice-live' | 'openai-ga';

/**
 * The Voice Live `api-version` a client's request goes upstream with
 * (docs/contract.md §1), or null when it is refused (`unsupported_api_version`):
 * - a version in `allowed` (ALLOWED_API_VERSIONS plus API_VERSION) is used as it is;
 * - an Azure OpenAI realtime version (isAzureOpenAIApiVersion) is not refused:
 *   it asks for the preview protocol, so it becomes '' (API_VERSION, whose event names those
 *   clients know);
 * - none at all: '' (API_VERSION) on the Voice Live paths, `v1` on the OpenAI GA paths
 *   (`/v1/realtime`, `/openai/v1/realtime`), whose clients expect the GA event names;
 * - anything else (a Voice Live version the operator did not allow, an unknown date) is
 *   refused, never swapped.
 */
export function upstreamApiVersion(requested: string, allowed: readonly string[], route: RouteProtocol): string | null {
  if (requested === '') {
    if (route === 'voice-live') return '';
    return allowed.includes(GA_PROTOCOL_API_VERSION) ? GA_PROTOCOL_API_VERSION : null;
  }
  if (allowed.includes(requested)) return requested;
  if (isAzureOpenAIApiVersion(requested)) return '';
  return null;
}
