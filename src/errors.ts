// Every refusal the proxy can produce, in one table. docs/clients.md lists them all
// (test/errors.test.ts checks that). A refusal before the upgrade is an HTTP
// status with a JSON body; a request error after the upgrade is a Voice
// Live-style `error` event followed by a close frame with the same reason.

import {
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_NORMAL,
  CLOSE_POLICY,
  CLOSE_TOO_BIG,
  CLOSE_TRY_AGAIN_LATER,
  CLOSE_UPSTREAM_FORBIDDEN,
  CLOSE_UPSTREAM_UNAUTHORIZED,
  RETRY_AFTER_S,
} from './constants';

export interface ProxyError {
  /** Stable code, sent to clients in the JSON body or the `error` event. */
  readonly code: string;
  /** HTTP status for refusals before the upgrade (0 when it is a close). */
  readonly status: number;
  /** WebSocket close code for errors after the upgrade (0 when it is HTTP). */
  readonly closeCode: number;
  /** Public text: never contains a hostname, a stack or a secret. */
  readonly message: string;
  /**
   * Retry-After in seconds sent with the HTTP refusal (0: none). Fixed here;
   * RATE_LIMITED's is 0 because each limiter computes when its bucket refills.
   */
  readonly retryAfter: number;
}

function e(code: string, status: number, closeCode: number, message: string, retryAfter = 0): ProxyError {
  return Object.freeze({ code, status, closeCode, message, retryAfter });
}

export const Errors = Object.freeze({
  // Before the upgrade: HTTP status, no 101.
  NOT_FOUND: e('not_found', 404, 0, 'Not found'),
  // No route takes a body; one sent anyway could frame a second, hidden request (src/http/request-facts.ts).
  REQUEST_BODY_NOT_ACCEPTED: e('request_body_not_accepted', 400, 0, 'Request body not accepted'),
  UPGRADE_REQUIRED: e('upgrade_required', 426, 0, 'Connect with a WebSocket'),
  ORIGIN_REFUSED: e('origin_not_allowed', 403, 0, 'Origin not allowed'),
  RATE_LIMITED: e('rate_limited', 429, 0, 'Too many requests'),
  AT_CAPACITY: e('at_capacity', 503, 0, 'Server at capacity', RETRY_AFTER_S),
  IP_AT_CAPACITY: e('ip_at_capacity', 503, 0, 'Too many connections from this address', RETRY_AFTER_S),
  DRAINING: e('draining', 503, 0, 'Server is shutting down', RETRY_AFTER_S),
  FLEET_AT_CAPACITY: e('fleet_at_capacity', 503, 0, 'Service at capacity', RETRY_AFTER_S),
  FLEET_UNAVAILABLE: e('fleet_unavailable', 503, 0, 'Service temporarily unavailable', RETRY_AFTER_S),
  METRICS_UNAUTHORIZED: e('unauthorized', 401, 0, 'Unauthorized'),
  METRICS_DISABLED: e('metrics_disabled', 403, 0, 'Metrics disabled: set METRICS_TOKEN'),
  DEMO_TICKET_LOOPBACK_ONLY: e('demo_ticket_loopback_only', 403, 0, 'Demo tickets are issued to this machine only'),
  // CLIENT_AUTH refusals: the code names the reason class (missing, expired, invalid, replayed).
  AUTH_MISSING: e('auth_missing', 401, 0, 'Authentication required'),
  AUTH_EXPIRED: e('auth_expired', 401, 0, 'Credential expired'),
  AUTH_INVALID: e('auth_invalid', 401, 0, 'Credential invalid'),
  AUTH_REPLAYED: e('auth_replayed', 401, 0, 'Ticket already used'),
  AUTH_UNAVAILABLE: e('auth_unavailable', 503, 0, 'Authentication temporarily unavailable', RETRY_AFTER_S),
  SUBJECT_AT_CAPACITY: e('subject_at_capacity', 429, 0, 'Too many sessions for this user', RETRY_AFTER_S),
  // QUOTA_*_PER_DAY used up: Retry-After is computed (when enough of the rolling day frees up).
  QUOTA_EXHAUSTED: e('quota_exhausted', 429, 0, 'Usage quota exhausted'),

  // After the upgrade, request errors: error event, then close 1008.
  AGENT_TOKEN_REQUIRED: e('agent_token_required', 0, CLOSE_POLICY, 'Agent mode requires token'),
  AGENT_PROJECT_REQUIRED: e('agent_project_required', 0, CLOSE_POLICY, 'Agent mode requires projectName'),
  INVALID_PARAMETER: e('invalid_parameter', 0, CLOSE_POLICY, 'Invalid query parameter'),
  UNSUPPORTED_API_VERSION: e('unsupported_api_version', 0, CLOSE_POLICY, 'Unsupported apiVersion'),
  DUPLICATE_PARAMETER: e('duplicate_parameter', 0, CLOSE_POLICY, 'Repeated query parameter'),
  MODEL_NOT_ALLOWED: e('model_not_allowed', 0, CLOSE_POLICY, 'Model not allowed'),
  WEBRTC_API_VERSION: e('webrtc_api_version', 0, CLOSE_POLICY, 'WebRTC needs apiVersion 2026-01-01-preview or later'),
  TRANSPORT_CONFLICT: e('transport_conflict', 0, CLOSE_POLICY, 'transport=websocket on the WebRTC calls path'),

  // After the upgrade, session errors: close code and reason only.
  PENDING_OVERFLOW: e('pending_overflow', 0, CLOSE_TOO_BIG, 'Too much data before upstream opened'),
  MESSAGE_TOO_BIG: e('message_too_big', 0, CLOSE_TOO_BIG, 'Message too big'),
  INVALID_UTF8: e('invalid_utf8', 0, CLOSE_INVALID_PAYLOAD, 'Invalid UTF-8 in text frame'),
  UPSTREAM_UNAUTHORIZED: e('upstream_unauthorized', 0, CLOSE_UPSTREAM_UNAUTHORIZED, 'Upstream rejected credential'),
  UPSTREAM_FORBIDDEN: e('upstream_forbidden', 0, CLOSE_UPSTREAM_FORBIDDEN, 'Upstream denied access'),
  UPSTREAM_CREDENTIAL: e('upstream_credential', 0, CLOSE_INTERNAL, 'Upstream credential unavailable'),
  UPSTREAM_TIMEOUT: e('upstream_timeout', 0, CLOSE_INTERNAL, 'Upstream connect timeout'),
  UPSTREAM_UNAVAILABLE: e('upstream_unavailable', 0, CLOSE_INTERNAL, 'Upstream unavailable'),
  UPSTREAM_LOST: e('upstream_lost', 0, CLOSE_INTERNAL, 'Upstream connection lost'),
  SLOW_CLIENT: e('slow_client', 0, CLOSE_POLICY, 'Client too slow to read'),
  SLOW_UPSTREAM: e('slow_upstream', 0, CLOSE_TRY_AGAIN_LATER, 'Upstream too slow to accept data'),
  BUFFER_BUDGET: e('buffer_budget', 0, CLOSE_TRY_AGAIN_LATER, 'Server buffer budget exhausted'),
  KEEPALIVE_TIMEOUT: e('keepalive_timeout', 0, CLOSE_GOING_AWAY, 'Keepalive timeout'),
  IDLE_TIMEOUT: e('idle_timeout', 0, CLOSE_NORMAL, 'Idle timeout'),
  CLIENT_IDLE: e('client_idle', 0, CLOSE_NORMAL, 'Client idle timeout'),
  SESSION_LIMIT: e('session_limit', 0, CLOSE_NORMAL, 'Session time limit reached'),
  SHUTDOWN: e('shutdown', 0, CLOSE_GOING_AWAY, 'Server shutting down'),
  // A live session that crossed its quota: the response in progress finishes
  // (QUOTA_GRACE_MS at most), then an error event, then this close.
  QUOTA_EXHAUSTED_SESSION: e('quota_exhausted', 0, CLOSE_POLICY, 'Usage quota exhausted'),
});

export type ErrorName = keyof typeof Errors;

/** The Voice Live-style error event sent before a 1008 close (docs/contract.md §1). */
export function errorEvent(err: ProxyError): string {
  return JSON.stringify({
    type: 'error',
    error: { type: 'invalid_request_error', code: err.code, message: err.message },
  });
}

/** JSON body for an HTTP refusal. */
export function errorBody(err: ProxyError): string {
  return JSON.stringify({ error: { code: err.code, message: err.message } });
}
