// `voice-live-proxy usage --subject <sub>` or `--address <ip>`: one caller's
// use over the rolling day, fleet-wide, as one JSON line (docs/cost-control.md).
// It reads the same Redis as the proxy (REDIS_URL, FLEET_KEY_PREFIX from the
// environment or ./.env, through the proxy's own rows) and the same keys:
// an IPv6 address is counted per /64, as admission counts it.
import { parseArgs } from 'node:util';
import { ConfigError, readEnv } from '../config';
import { redisUrl } from '../config/parsers';
import { EnvReader } from '../config/spec';
import { rateKey } from '../admission/ip';
import { createFleetRedis } from '../fleet/redis-client';
import { callerKey } from '../usage/quotas';
import { WINDOW_HOURS } from '../usage/day-window';
import { commandHelp, USAGE_ROWS } from './help';

const USAGE = commandHelp('usage');
export async function runUsage(
  argv: readonly string[],
  env = readEnv(),
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  let values: { subject?: string; address?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { subject: { type: 'string' }, address: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`usage: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out.write(USAGE);
    return 0;
  }
  if ((values.subject === undefined) === (values.address === undefined) || (values.subject ?? values.address) === '') {
    process.stderr.write(`usage: one of --subject or --address is required\n\n${USAGE}`);
    return 2;
  }
  let url: string, prefix: string, timeoutMs: number, audioMinutes: number, tokens: number;
  try {
    const r = new EnvReader(env, USAGE_ROWS);
    url = redisUrl(r);
    prefix = `${r.str('FLEET_KEY_PREFIX')}:{fleet}:`;
    timeoutMs = r.int('FLEET_REDIS_TIMEOUT_MS');
    audioMinutes = r.int('QUOTA_AUDIO_MINUTES_PER_DAY');
    tokens = r.int('QUOTA_TOKENS_PER_DAY');
  } catch (err) {
    process.stderr.write(`usage: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 2;
  }
  if (url === '') {
    process.stderr.write('usage: REDIS_URL is not set: without it each proxy keeps its own totals (GET /usage)\n');
    return 2;
  }
  const caller = callerKey(values.subject ?? '', values.subject === undefined ? rateKey(values.address!) : '');
  // A few seconds for the connection itself; every command is bounded by FLEET_REDIS_TIMEOUT_MS.
  const redis = createFleetRedis(url, Math.max(timeoutMs, 2000));
  let lastError = '';
  redis.on('error', (err) => {
    lastError = err?.message ?? '';
  });
  try {
    // The fleet's connection sends nothing before it is ready (no offline queue): wait for it, bounded.
    if (redis.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(lastError || 'not connected')), Math.max(timeoutMs, 2000) * 2);
        redis.on('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const [audioMs, tokensUsed, retryAfterS] = await redis.vlpUsageRead(
      prefix,
      caller,
      audioMinutes * 60_000,
      tokens,
      0,
      0,
    );
    out.write(
      JSON.stringify({
        caller,
        windowHours: WINDOW_HOURS,
        audioMs,
        audioMinutes: Math.round(audioMs / 600) / 100,
        tokens: tokensUsed,
        quota: { audioMinutesPerDay: audioMinutes, tokensPerDay: tokens },
        exhausted: retryAfterS > 0,
        retryAfterSeconds: retryAfterS,
      }) + '\n',
    );
    return 0;
  } catch (err) {
    // ioredis messages name host and port, never the password.
    process.stderr.write(`usage: redis: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
