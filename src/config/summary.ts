// What the `voice-live-proxy listening` line says about the configuration, so
// the first line an operator reads answers "what is running": where it relays
// to, with which credential, for whom, in how many threads. Never a secret.
import type { Config } from './types';

/**
 * Whose credential authorizes the upstream leg, as the proxy decides it
 * (upstream/target.ts chooseCredential): with CLIENT_AUTH=token every session
 * brings a verified user token and it is forwarded; otherwise AZURE_SPEECH_KEY
 * (`key`) or the proxy's own Entra ID identity (`keyless`), for every session
 * that brings no token of its own.
 */
export type UpstreamCredentialMode = 'client-token' | 'key' | 'keyless';

export function upstreamCredentialMode(cfg: Pick<Config, 'clientAuth' | 'azureSpeechKey'>): UpstreamCredentialMode {
  if (cfg.clientAuth === 'token') return 'client-token';
  return cfg.azureSpeechKey !== '' ? 'key' : 'keyless';
}

export interface StartSummary {
  readonly upstream: string;
  readonly upstreamCredential: UpstreamCredentialMode;
  readonly clientAuth: Config['clientAuth'];
  /** ALLOWED_ORIGINS as a comma list, or `*`. */
  readonly allowedOrigins: string;
  readonly apiVersion: string;
  readonly workers: number;
  readonly maxConnections: number;
}

/** The listening line's fields after `port` and `host`. */
export function startSummary(cfg: Config): StartSummary {
  return {
    upstream: cfg.upstreamOrigin,
    upstreamCredential: upstreamCredentialMode(cfg),
    clientAuth: cfg.clientAuth,
    allowedOrigins: cfg.allowAnyOrigin ? '*' : cfg.allowedOrigins.join(','),
    apiVersion: cfg.apiVersion,
    workers: cfg.workers,
    maxConnections: cfg.maxConnections,
  };
}
