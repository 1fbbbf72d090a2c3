// Which models a session may open (docs/contract.md §4): the model is the
// operator's bill, and the proxy spends the operator's key (or resource) on
// it, so the client only picks among ALLOWED_MODELS. DEFAULT_MODEL (what a
// client that names no model gets) is always allowed. `*` lets any model
// through, for an operator who really wants that. Agent sessions are not
// checked: their model is the agent's, chosen server-side.
import type { Config } from '../config';
import { Errors, type ProxyError } from '../errors';
import type { UpstreamTarget } from './target';

export class ModelPolicy {
  /** null = any model (ALLOWED_MODELS=*). */
  private readonly allowed: ReadonlySet<string> | null;

  constructor(cfg: Pick<Config, 'allowedModels' | 'defaultModel'>) {
    this.allowed = cfg.allowedModels.includes('*') ? null : new Set([cfg.defaultModel, ...cfg.allowedModels]);
  }

  /** The request error for a target whose model is not allowed, else null. */
  check(target: UpstreamTarget): ProxyError | null {
    if (target.mode !== 'standard' || this.allowed === null || this.allowed.has(target.label)) return null;
    return Errors.MODEL_NOT_ALLOWED;
  }
}
