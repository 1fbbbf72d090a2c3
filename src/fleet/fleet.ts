// The fleet's construction, required by the server only when REDIS_URL is
// set, so ioredis is never loaded without it.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { FleetLimiter, type FleetMetrics } from './fleet-limiter';
import { createFleetRedis } from './redis-client';

export function startFleet(cfg: Config, log: Logger, metrics: FleetMetrics, maxPerSubject = 0): FleetLimiter {
  const redis = createFleetRedis(cfg.redisUrl, cfg.fleetRedisTimeoutMs);
  return new FleetLimiter(
    {
      prefix: cfg.fleetKeyPrefix,
      leaseMs: cfg.fleetLeaseMs,
      onRedisDown: cfg.fleetOnRedisDown,
      // Upgrades spend the upgrade bucket (UPGRADE_RATE_LIMIT_*), as the local gate does.
      rateBurst: cfg.upgradeRateLimitMaxRequests,
      rateWindowMs: cfg.upgradeRateLimitWindowMs,
      maxSessions: cfg.fleetMaxSessions,
      maxPerIp: cfg.maxConnectionsPerIp,
      maxPerSubject,
      prefixes: cfg.ipv6PrefixLimits,
    },
    redis,
    log,
    metrics,
  );
}
