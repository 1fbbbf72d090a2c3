// The Voice Live API versions the proxy knows, and their order.

/**
 * The GA and preview versions Voice Live documents (learn.microsoft.com
 * API references, and the stable/ and preview/ folders of
 * Azure/azure-rest-api-specs specification/ai/data-plane/VoiceLive).
 */
export const DOCUMENTED_API_VERSIONS: readonly string[] = Object.freeze([
  '2026-07-15',
  '2026-04-10',
  '2025-10-01',
  '2026-06-01-preview',
  '2026-01-01-preview',
  '2025-05-01-preview',
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
