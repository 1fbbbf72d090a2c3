// The upstream half of the contract (SPEC 2): from validated client params
// and config, the exact Voice Live URL and headers. Pure, so every mode can be
// tested without a socket.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import { UPSTREAM_PATH } from '../constants';
import { Errors, type ProxyError } from '../errors';
import type { ClientParams } from './params';

export type Mode = 'standard' | 'agent';

export interface UpstreamTarget {
  readonly mode: Mode;
  /** Model (standard) or agent id/name (agent), for logs and metrics. */
  readonly label: string;
  /** Full URL. Agent mode carries agent-access-token in it: never log it. */
  readonly url: string;
  /** The URL without its query string: safe to log. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
}

export type TargetResult = { ok: true; target: UpstreamTarget } | { ok: false; error: ProxyError };

type TargetConfig = Pick<Config, 'upstreamOrigin' | 'apiVersion' | 'defaultModel' | 'azureSpeechKey'>;

const enc = encodeURIComponent;

export function isAgentMode(p: ClientParams): boolean {
  return (p.agentId !== '' || p.agentName !== '') && p.projectName !== '';
}

export function buildTarget(cfg: TargetConfig, p: ClientParams, clientRequestId: string): TargetResult {
  const requestId = clientRequestId || randomUUID();
  const base = `${cfg.upstreamOrigin}${UPSTREAM_PATH}`;
  let query = `api-version=${enc(p.apiVersion || cfg.apiVersion)}`;
  const headers: Record<string, string> = { 'x-ms-client-request-id': requestId };

  if (isAgentMode(p)) {
    if (p.token === '') return { ok: false, error: Errors.AGENT_TOKEN_REQUIRED };
    query += p.agentId !== '' ? `&agent-id=${enc(p.agentId)}` : `&agent-name=${enc(p.agentName)}`;
    if (p.agentVersion !== '') query += `&agent-version=${enc(p.agentVersion)}`;
    if (p.conversationId !== '') query += `&conversation-id=${enc(p.conversationId)}`;
    query += `&agent-project-name=${enc(p.projectName)}`;
    // Voice Live documents agent-access-token as a query parameter; it is the
    // only secret ever put in a URL, which is why `url` is never logged.
    query += `&agent-access-token=${enc(p.token)}`;
    headers.authorization = `Bearer ${p.token}`;
    return { ok: true, target: { mode: 'agent', label: p.agentId || p.agentName, url: `${base}?${query}`, path: base, headers, requestId } };
  }

  if (p.agentId !== '' || p.agentName !== '') return { ok: false, error: Errors.AGENT_PROJECT_REQUIRED };
  const model = p.model || cfg.defaultModel;
  query += `&model=${enc(model)}`;
  if (p.token !== '') {
    headers.authorization = `Bearer ${p.token}`;
  } else if (cfg.azureSpeechKey !== '') {
    headers['api-key'] = cfg.azureSpeechKey;
  } else {
    return { ok: false, error: Errors.MISSING_CREDENTIAL };
  }
  return { ok: true, target: { mode: 'standard', label: model, url: `${base}?${query}`, path: base, headers, requestId } };
}
