// The upstream half of the contract (docs/contract.md §2): from validated client params
// and config, the exact Voice Live URL and headers. Pure, so every mode can be
// tested without a socket. Four steps, each its own function so a later
// check (a model allowlist, a server-side credential) hooks in at one place:
// transport -> agent (client's or the server default) -> API version -> credential.
import { randomUUID } from 'node:crypto';
import { compareApiVersions, MIN_WEBRTC_API_VERSION, type Config } from '../config';
import { UPSTREAM_CALLS_PATH, UPSTREAM_PATH } from '../constants';
import { Errors, type ProxyError } from '../errors';
import type { ClientParams, Transport } from '../upgrade/client-params';

export type Mode = 'standard' | 'agent';

/** Whose credential authorizes the upstream leg: the client's token, the server key, or the proxy's own identity. */
export type CredentialSource = 'client' | 'key' | 'identity';

export interface UpstreamTarget {
  readonly mode: Mode;
  readonly credential: CredentialSource;
  /** Model (standard) or agent id/name (agent), for logs and metrics. */
  readonly label: string;
  /** Full URL. Legacy agent-id mode carries agent-access-token in it: never log it. */
  readonly url: string;
  /** The URL without its query string: safe to log. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly transport: Transport;
  readonly apiVersion: string;
}

export type TargetResult = { ok: true; target: UpstreamTarget } | { ok: false; error: ProxyError };

export type TargetConfig = Pick<
  Config,
  | 'upstreamOrigin'
  | 'apiVersion'
  | 'defaultModel'
  | 'azureSpeechKey'
  | 'webrtcApiVersion'
  | 'agentName'
  | 'agentProjectName'
  | 'agentVersion'
>;

/** The agent a session talks to, after the server defaults were applied. */
export interface AgentChoice {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly project: string;
  /** 'client' when the client named the agent, 'server' for AGENT_NAME. */
  readonly source: 'client' | 'server';
}

const enc = encodeURIComponent;

function failed(error: ProxyError): TargetResult {
  return { ok: false, error };
}

/** Step 1. `/calls` is the WebRTC control channel; elsewhere `transport=` picks (default websocket). */
export function resolveTransport(p: ClientParams, callsPath: boolean): Transport | ProxyError {
  if (callsPath) return p.transport === 'websocket' ? Errors.TRANSPORT_CONFLICT : 'webrtc';
  return p.transport === '' ? 'websocket' : p.transport;
}

/**
 * Step 2. The client's agent, or the server default (AGENT_NAME) when the
 * client names neither an agent nor a model: as in the successor proxy, a
 * client that asks for a model gets a model session. AGENT_PROJECT_NAME also
 * completes a client-named agent that comes without a project.
 * Returns null for a standard (model) session.
 */
export function resolveAgent(cfg: TargetConfig, p: ClientParams): AgentChoice | ProxyError | null {
  if (p.agentId !== '' || p.agentName !== '') {
    const project = p.projectName || cfg.agentProjectName;
    if (project === '') return Errors.AGENT_PROJECT_REQUIRED;
    return { id: p.agentId, name: p.agentName, version: p.agentVersion, project, source: 'client' };
  }
  if (cfg.agentName !== '' && p.model === '') {
    return {
      id: '',
      name: cfg.agentName,
      version: p.agentVersion || cfg.agentVersion,
      project: p.projectName || cfg.agentProjectName,
      source: 'server',
    };
  }
  return null;
}

/**
 * Step 3. The client's version (already checked against ALLOWED_API_VERSIONS),
 * else the default for the transport. WebRTC exists only from
 * MIN_WEBRTC_API_VERSION on (the service answers 404 before it).
 */
export function resolveApiVersion(cfg: TargetConfig, p: ClientParams, transport: Transport): string | ProxyError {
  if (transport === 'websocket') return p.apiVersion || cfg.apiVersion;
  const v = p.apiVersion || cfg.webrtcApiVersion;
  return compareApiVersions(v, MIN_WEBRTC_API_VERSION) < 0 ? Errors.WEBRTC_API_VERSION : v;
}

/**
 * Step 4, the credential, first that applies (docs/contract.md §2): the user's own token
 * as `Authorization: Bearer`; else, for a model session, the server key as an
 * `api-key` header (never in the URL); else keyless, the proxy's own Entra ID
 * identity (no header here: server-credential.ts adds it when the leg opens).
 * An agent session cannot run on an API key, so it needs the user's token.
 * A client `api-key` is never forwarded.
 */
export function chooseCredential(cfg: TargetConfig, p: ClientParams, mode: Mode): Record<string, string> | ProxyError {
  if (p.token !== '') return { authorization: `Bearer ${p.token}` };
  if (mode === 'agent') return Errors.AGENT_TOKEN_REQUIRED;
  if (cfg.azureSpeechKey !== '') return { 'api-key': cfg.azureSpeechKey };
  // Keyless: the proxy's own identity; its Authorization header is added when the leg opens (server-credential.ts).
  return {};
}

function isError(v: unknown): v is ProxyError {
  return typeof v === 'object' && v !== null && 'closeCode' in v;
}

/** Agent query parameters in the service's order. */
function agentQuery(a: AgentChoice, p: ClientParams): string {
  let q = a.id !== '' ? `&agent-id=${enc(a.id)}` : `&agent-name=${enc(a.name)}`;
  if (a.version !== '') q += `&agent-version=${enc(a.version)}`;
  if (p.conversationId !== '') q += `&conversation-id=${enc(p.conversationId)}`;
  if (p.agentAuthIdentityClientId !== '')
    q += `&agent-authentication-identity-client-id=${enc(p.agentAuthIdentityClientId)}`;
  if (p.foundryResourceOverride !== '') q += `&foundry-resource-override=${enc(p.foundryResourceOverride)}`;
  q += `&agent-project-name=${enc(a.project)}`;
  // The first agent API (agent-id, 2025-05-01-preview) documents agent-access-token
  // as a query parameter; the Agent Service v2 names (agent-name) take the
  // Authorization header alone, so a token goes into a URL only where required.
  if (a.id !== '' && p.token !== '') q += `&agent-access-token=${enc(p.token)}`;
  return q;
}

export function buildTarget(
  cfg: TargetConfig,
  p: ClientParams,
  clientRequestId: string,
  callsPath = false,
): TargetResult {
  const transport = resolveTransport(p, callsPath);
  if (isError(transport)) return failed(transport);
  const agent = resolveAgent(cfg, p);
  if (isError(agent)) return failed(agent);
  const apiVersion = resolveApiVersion(cfg, p, transport);
  if (isError(apiVersion)) return failed(apiVersion);
  const mode: Mode = agent === null ? 'standard' : 'agent';
  const credential = chooseCredential(cfg, p, mode);
  if (isError(credential)) return failed(credential);

  const requestId = p.clientRequestId || clientRequestId || randomUUID();
  const base = `${cfg.upstreamOrigin}${transport === 'webrtc' ? UPSTREAM_CALLS_PATH : UPSTREAM_PATH}`;
  let query = `api-version=${enc(apiVersion)}`;
  let label: string;
  if (agent !== null) {
    query += agentQuery(agent, p);
    label = agent.id || agent.name;
  } else {
    label = p.model || cfg.defaultModel;
    query += `&model=${enc(label)}`;
  }
  const headers: Record<string, string> = { 'x-ms-client-request-id': requestId, ...credential };
  const source: CredentialSource =
    credential.authorization !== undefined ? 'client' : credential['api-key'] !== undefined ? 'key' : 'identity';
  return {
    ok: true,
    target: {
      mode,
      credential: source,
      label,
      url: `${base}?${query}`,
      path: base,
      headers,
      requestId,
      transport,
      apiVersion,
    },
  };
}
