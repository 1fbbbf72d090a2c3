// GET /usage: the caller's own day (docs/cost-control.md). The caller is who
// the upgrade would count: with CLIENT_AUTH its verified subject (the same
// verification as the upgrade: a ticket in `?ticket=`, spent like any ticket;
// a user token as `Authorization: Bearer`), else its own address. Nothing in
// the request can name another caller.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { newIdentity } from '../admission/gate';
import type { CallerCredentials } from '../auth/caller-auth';
import { ticketParam } from '../auth/query-ticket';
import { Errors } from '../errors';
import type { ProxyContext } from '../proxy-context';
import { callerRefusal, verifyCaller } from '../upgrade/caller-step';
import { callerKey, type CallerUsage } from '../usage/quotas';
import { WINDOW_HOURS } from '../usage/day-window';
import { identify, requestFacts } from './request-facts';
import { sendError, sendJson, type ResponseContext } from './respond';

export const USAGE_PATH = '/usage';

export function usageRoute(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const f = requestFacts(px, res, req);
  if (f === null) return;
  const id = newIdentity();
  const ctx = identify(px, f, id);
  const wait = px.gate.rate(id.ipKey);
  if (wait !== 0) {
    px.metrics.httpRateLimited++;
    sendError(res, Errors.RATE_LIMITED, ctx, wait);
    return;
  }
  const auth = px.auth;
  const authorization = req.getHeader('authorization');
  const credentials: CallerCredentials | null =
    auth === null
      ? null
      : {
          ticket: auth.mode === 'ticket' ? ticketParam(req.getQuery() ?? '') : '',
          bearer: auth.mode === 'token' && authorization.startsWith('Bearer ') ? authorization.slice(7) : '',
          origin: f.origin,
        };
  // `req` is not touched past this line.
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  void answer(px, res, ctx, id.ipKey, credentials, state).then(undefined, () => {
    if (!state.aborted) sendError(res, Errors.FLEET_UNAVAILABLE, ctx);
  });
}

async function answer(
  px: ProxyContext,
  res: HttpResponse,
  ctx: ResponseContext,
  ipKey: string,
  c: CallerCredentials | null,
  state: { aborted: boolean },
): Promise<void> {
  let subject = '';
  if (px.auth !== null && c !== null) {
    const o = await verifyCaller(px.auth, c);
    if (state.aborted) return;
    if (!o.ok) {
      sendError(res, callerRefusal(o).error, ctx);
      return;
    }
    subject = o.subject;
  }
  const u = await px.quotas!.read(callerKey(subject, ipKey));
  if (state.aborted) return;
  if (u === null) sendError(res, Errors.FLEET_UNAVAILABLE, ctx);
  else sendJson(res, 200, usageBody(px, subject !== '', u), ctx);
}

/** The answer's JSON: the window's totals, the quotas (0 = off) and when an exhausted caller may come back. */
export function usageBody(px: ProxyContext, verified: boolean, u: CallerUsage): string {
  return JSON.stringify({
    caller: verified ? 'subject' : 'address',
    windowHours: WINDOW_HOURS,
    audioMs: u.audioMs,
    audioMinutes: Math.round(u.audioMs / 600) / 100,
    tokens: u.tokens,
    quota: { audioMinutesPerDay: px.cfg.quotaAudioMinutesPerDay, tokensPerDay: px.cfg.quotaTokensPerDay },
    exhausted: u.retryAfterS > 0,
    retryAfterSeconds: u.retryAfterS,
    shared: px.quotas!.shared,
  });
}
