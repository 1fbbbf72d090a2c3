// Each admission step on its own, with the real gate, verifier answers,
// subject counter and fleet verdicts: which refusal each answer becomes (its
// errors-table entry, Retry-After and counted outcome), the gate's order, and
// releaseSlots giving back each thing exactly once.
import t from 'tap';
import { pino } from 'pino';
import { AdmissionGate, newIdentity, type RequestFacts } from '../../src/admission/gate';
import type { AuthReason } from '../../src/auth/outcome';
import { SubjectLimit } from '../../src/auth/subject-limit';
import { loadConfig, type Env } from '../../src/config';
import { RETRY_AFTER_S } from '../../src/constants';
import { Errors } from '../../src/errors';
import type { FleetVerdict } from '../../src/fleet/fleet-limiter';
import { Metrics } from '../../src/observability/metrics';
import { ProxyContext } from '../../src/proxy-context';
import type { ClientUserData } from '../../src/relay/session';
import { callerRefusal } from '../../src/upgrade/caller-step';
import { subjectStep } from '../../src/upgrade/subject-step';
import { fleetStep } from '../../src/upgrade/fleet-step';
import { DRAINING, gateStep } from '../../src/upgrade/gate-step';
import { countAdmitted, countRefusal } from '../../src/upgrade/refusal';
import { releaseSlots } from '../../src/upgrade/slots';

const ORIGIN = 'http://localhost:3000';

function config(env: Env = {}) {
  return loadConfig({
    AZURE_VOICE_LIVE_ENDPOINT: 'http://127.0.0.1:9',
    AZURE_SPEECH_KEY: 'sk-test-api-key-0123456789abcdef',
    ALLOWED_ORIGINS: ORIGIN,
    ...env,
  });
}

const facts = (ip: string, origin = ORIGIN): RequestFacts => ({
  remoteAddress: ip,
  forwardedFor: '',
  forwardedProto: '',
  origin,
});

t.test('the gate: draining, rate, origin, capacity, in that order', async (t) => {
  const gate = new AdmissionGate(
    config({ MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_IP: '1', UPGRADE_RATE_LIMIT_MAX_REQUESTS: '3' }),
  );
  const id = newIdentity();
  t.equal(gateStep(gate, facts('10.0.0.1'), id), null, 'admitted');
  t.same(id, { ip: '10.0.0.1', ipKey: '10.0.0.1', tls: false }, 'identified');
  t.equal(gate.counter.active, 1, 'holding a slot');

  const ip = gateStep(gate, facts('10.0.0.1'), newIdentity())!;
  t.same(
    [ip.error, ip.retryAfter, ip.outcome, ip.detail],
    [Errors.IP_AT_CAPACITY, RETRY_AFTER_S, 'ip_capacity', { outcome: 'ip_capacity' }],
  );
  const origin = gateStep(gate, facts('10.0.0.2', 'https://evil.example'), newIdentity())!;
  t.same([origin.error, origin.retryAfter, origin.outcome], [Errors.ORIGIN_REFUSED, 0, 'origin']);
  t.equal(gateStep(gate, facts('10.0.0.2'), newIdentity()), null);
  const full = gateStep(gate, facts('10.0.0.3'), newIdentity())!;
  t.same([full.error, full.retryAfter, full.outcome], [Errors.AT_CAPACITY, RETRY_AFTER_S, 'capacity']);
  t.equal(gate.counter.active, 2, 'refusals hold nothing');

  // 10.0.0.1 has spent two of its three tokens; the third is spent even by a refused origin.
  t.equal(gateStep(gate, facts('10.0.0.1', 'https://evil.example'), newIdentity())!.outcome, 'origin');
  // Out of tokens: the bucket's refill time, before the origin is looked at.
  const rate = gateStep(gate, facts('10.0.0.1', 'https://evil.example'), newIdentity())!;
  t.same([rate.error, rate.outcome, rate.step], [Errors.RATE_LIMITED, 'rate', 'gate']);
  t.ok(rate.retryAfter >= 1, "the limiter's wait, not the table's");
  t.equal(Errors.RATE_LIMITED.retryAfter, 0, 'the table has none for a rate limit');

  gate.draining = true;
  t.equal(gateStep(gate, facts('10.0.0.9'), newIdentity()), DRAINING, 'draining before anything is spent');
  t.same([DRAINING.error, DRAINING.retryAfter, DRAINING.outcome], [Errors.DRAINING, RETRY_AFTER_S, 'draining']);
});

t.test("caller refusals: one error per reason, Retry-After only for the proxy's own trouble", async (t) => {
  const cases: Array<[AuthReason, string, number, number]> = [
    ['missing', 'auth_missing', 401, 0],
    ['expired', 'auth_expired', 401, 0],
    ['invalid', 'auth_invalid', 401, 0],
    ['replayed', 'auth_replayed', 401, 0],
    ['unavailable', 'auth_unavailable', 503, RETRY_AFTER_S],
  ];
  for (const [reason, code, status, retryAfter] of cases) {
    const r = callerRefusal({ ok: false, reason, cause: 'ERR_X' });
    t.same(
      [r.error.code, r.error.status, r.retryAfter, r.outcome, r.step, r.auth, r.detail],
      [code, status, retryAfter, 'unauthorized', 'caller', null, { reason, cause: 'ERR_X' }],
      reason,
    );
  }
});

t.test('the subject cap: a place per session, refused 429 with Retry-After', async (t) => {
  const subjects = new SubjectLimit(1);
  t.equal(subjectStep(subjects, 'alice'), null);
  const r = subjectStep(subjects, 'alice')!;
  t.same(
    [r.error, r.retryAfter, r.outcome, r.step, r.detail],
    [Errors.SUBJECT_AT_CAPACITY, RETRY_AFTER_S, 'subject_capacity', 'subject', { subject: 'alice' }],
  );
  t.equal(subjectStep(subjects, 'bob'), null, 'per subject');
  subjects.release('alice');
  t.equal(subjectStep(subjects, 'alice'), null, 'free again once given back');
});

t.test('fleet verdicts: each its error, Retry-After and counted outcome', async (t) => {
  const cases: Array<[Exclude<FleetVerdict, 'ok'>, string, number, string, string | null]> = [
    ['rate', 'rate_limited', 7, 'rate', null],
    ['ip', 'ip_at_capacity', RETRY_AFTER_S, 'ip_capacity', null],
    ['subject', 'subject_at_capacity', RETRY_AFTER_S, 'subject_capacity', null],
    ['fleet', 'fleet_at_capacity', RETRY_AFTER_S, 'fleet_capacity', null],
    ['replayed', 'auth_replayed', 0, 'unauthorized', 'replayed'],
    ['unavailable', 'fleet_unavailable', RETRY_AFTER_S, 'fleet_unavailable', null],
  ];
  for (const [verdict, code, retryAfter, outcome, auth] of cases) {
    const r = fleetStep({ verdict, retryAfter: verdict === 'rate' ? 7 : 0 })!;
    t.same(
      [r.error.code, r.retryAfter, r.outcome, r.auth, r.step, r.detail],
      [code, retryAfter, outcome, auth, 'fleet', { outcome: verdict }],
      verdict,
    );
  }
  t.equal(fleetStep({ verdict: 'ok', retryAfter: 0 }), null);
});

t.test('counting: one upgrade series per outcome; a fleet replay is also an auth outcome', async (t) => {
  const m = new Metrics();
  countRefusal(m, fleetStep({ verdict: 'replayed', retryAfter: 0 })!);
  countRefusal(m, DRAINING);
  countAdmitted(m, null);
  countAdmitted(m, Errors.INVALID_PARAMETER);
  t.same(
    [m.upgradesUnauthorized, m.authReplayed, m.upgradesDraining, m.upgradesAccepted, m.upgradesInvalid],
    [1, 1, 1, 1, 1],
  );
  t.equal(m.authOk, 0);
});

t.test(
  'releaseSlots gives back the slot and the subject place exactly once (the lease: pipeline-fleet.test.ts)',
  async (t) => {
    const px = new ProxyContext(
      config({
        MAX_SESSIONS_PER_SUBJECT: '2',
        CLIENT_AUTH: 'ticket',
        TICKET_SECRET: 'ticket-secret-for-tests-0123456789-abcdef',
      }),
      { logger: pino({ level: 'silent' }) },
    );
    // Two holders of the same address and subject: a second give-back would take the other's.
    t.equal(px.gate.acquire('10.0.0.1'), 'ok');
    t.equal(px.gate.acquire('10.0.0.1'), 'ok');
    t.ok(px.subjects.tryAcquire('u'));
    t.ok(px.subjects.tryAcquire('u'));
    const ud: ClientUserData = {
      session: null,
      requestError: null,
      target: null,
      hasSlot: true,
      ip: '10.0.0.1',
      ipKey: '10.0.0.1',
      origin: ORIGIN,
      clientRequestId: '',
      subject: 'u',
      lease: null,
    };
    releaseSlots(px, ud);
    releaseSlots(px, ud);
    t.same([ud.hasSlot, ud.subject, ud.lease], [false, '', null]);
    t.equal(px.gate.counter.active, 1, 'one slot given back');
    t.ok(px.subjects.tryAcquire('u'), 'one subject place given back');
    t.notOk(px.subjects.tryAcquire('u'), 'and only one');
  },
);
