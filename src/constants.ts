// Close codes the proxy itself sends on the browser leg. RFC 6455 section 7.4;
// 4401/4403 mirror the upstream HTTP status so a client can tell "refresh your
// token" from "the service is down" without parsing the reason.
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_NO_STATUS = 1005;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_UPSTREAM_UNAUTHORIZED = 4401;
export const CLOSE_UPSTREAM_FORBIDDEN = 4403;

/** The path Voice Live serves its realtime socket on. */
export const UPSTREAM_PATH = '/voice-live/realtime';
/** The WebRTC control channel: SDP offer/answer here, media straight between browser and Azure. */
export const UPSTREAM_CALLS_PATH = '/voice-live/realtime/calls';

/**
 * The paths the `openai` clients open (docs/contract.md §1), served like UPSTREAM_PATH:
 * `OpenAI({ baseURL: 'https://proxy/v1' })`, the GA `OpenAIRealtimeWS.azure()` and the
 * beta `.azure()` (Azure OpenAI's `deployment` and api-versions).
 */
export const OPENAI_PATH = '/v1/realtime';
export const AZURE_OPENAI_GA_PATH = '/openai/v1/realtime';
export const AZURE_OPENAI_PATH = '/openai/realtime';
/**
 * Every path a browser or SDK may open its socket on (docs/contract.md §1), by the name
 * `GET /` lists it under. The first three names are the ones the list has always had;
 * server.ts registers exactly these paths, so the list cannot name a path that is not served.
 */
export const SOCKET_ENDPOINTS: Readonly<Record<string, string>> = Object.freeze({
  websocket: '/ws',
  realtime: UPSTREAM_PATH,
  webrtc: UPSTREAM_CALLS_PATH,
  openai: OPENAI_PATH,
  azureOpenai: AZURE_OPENAI_GA_PATH,
  azureOpenaiBeta: AZURE_OPENAI_PATH,
});
/** Paths whose clients speak the OpenAI Realtime GA protocol when they name no api-version. */
export const GA_PROTOCOL_PATHS: readonly string[] = [OPENAI_PATH, AZURE_OPENAI_GA_PATH];

/** Longest close reason a WebSocket close frame can carry (125 - 2 code bytes). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Retry-After, in seconds, of a refusal that is the proxy's state rather than
 * the client's fault (capacity, draining, a verifier or Redis away): long
 * enough for a session to end or a dependency to come back, short enough that
 * a waiting user does not give up. The rate limiters compute their own.
 */
export const RETRY_AFTER_S = 5;
