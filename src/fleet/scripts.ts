// The fleet's decisions, as Lua run inside Redis. A script runs atomically,
// so "count, compare, add" cannot interleave with another replica's: N
// concurrent upgrades against a budget of K admit exactly K. One script per
// decision keeps an upgrade at one round trip.
//
// No library does this exact job: rate limiters on npm (rate-limiter-flexible,
// ioredis-ratelimit) do the bucket but not the leases, and the bucket and the
// caps must be decided together or a refused upgrade could spend a token it
// never used the slot of (and vice versa).
//
// Data model (every key starts with the prefix, which carries one hash tag so
// a Redis Cluster keeps them in one slot):
//   rate:<ipKey>   hash {t: tokens, s: stamp ms}, expires after one window
//                  (by then the bucket is full again, so forgetting it is exact)
//   fleet          sorted set of lease ids, score = expiry (ms, Redis clock)
//   ip:<ipKey>     the same, per client address
//   sub:<subject>  the same, per verified subject
// A lease is counted while its score is in the future; expired ones are
// removed by the next decision on that set. Time is Redis's own TIME, so the
// replicas' clocks never have to agree.

/**
 * KEYS: none (built from ARGV[1]; all under one hash tag).
 * ARGV: prefix, leaseId, leaseMs, burst, windowMs, ipKey, fleetMax, ipMax, subject, subMax,
 * ticketId, ticketUntilSeconds
 * (a max of 0 means that scope is not counted; burst 0 means no rate limit;
 * ticketId '' means no ticket to claim).
 * Returns {0, 0} admitted (lease added), {1, retryAfterSeconds} rate limited,
 * {2, 0} fleet full, {3, 0} address full, {4, 0} subject full, {5, 0} ticket
 * already used on some replica.
 *
 * jti:<ticketId>  a claimed ticket, kept until it expires (SET NX PX: EXAT
 *                 would need Redis 6.2, and Azure Cache for Redis still offers 6.0)
 */
export const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local p, lease, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local burst, windowMs, ip = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local fleetMax, ipMax, sub, subMax = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
if burst > 0 then
  local rk = p .. 'rate:' .. ip
  local b = redis.call('HMGET', rk, 't', 's')
  local tokens = burst
  if b[1] then
    tokens = tonumber(b[1]) + (now - tonumber(b[2])) * burst / windowMs
    if tokens > burst then tokens = burst end
  end
  local allowed = tokens >= 1 - 1e-9
  if allowed then tokens = tokens - 1 end
  redis.call('HSET', rk, 't', tostring(tokens), 's', now)
  redis.call('PEXPIRE', rk, windowMs)
  if not allowed then
    local wait = math.ceil((1 - tokens) * windowMs / burst / 1000 - 1e-6)
    if wait < 1 then wait = 1 end
    return {1, wait}
  end
end
local ticket = ARGV[11]
if ticket ~= '' then
  local ttl = tonumber(ARGV[12]) * 1000 - now
  if ttl < 1000 then ttl = 1000 end
  if not redis.call('SET', p .. 'jti:' .. ticket, '1', 'NX', 'PX', ttl) then return {5, 0} end
end
local function full(key, max)
  if max <= 0 then return false end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  return redis.call('ZCARD', key) >= max
end
local fk, ik, sk = p .. 'fleet', p .. 'ip:' .. ip, p .. 'sub:' .. sub
if full(fk, fleetMax) then return {2, 0} end
if full(ik, ipMax) then return {3, 0} end
if sub ~= '' and full(sk, subMax) then return {4, 0} end
local function add(key)
  redis.call('ZADD', key, now + leaseMs, lease)
  redis.call('PEXPIRE', key, leaseMs * 2)
end
if fleetMax > 0 then add(fk) end
if ipMax > 0 then add(ik) end
if sub ~= '' and subMax > 0 then add(sk) end
return {0, 0}
`;

/**
 * Renew (or re-assert, after a Redis restart lost them) a batch of leases.
 * ARGV: leaseMs, then per lease: leaseId, fleetKey, ipKey, subKey ('' = not counted there).
 * Returns the number of leases renewed.
 */
export const RENEW = `
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local ttl = tonumber(ARGV[1]) * 2
local touched = {}
local n = 0
for i = 2, #ARGV, 4 do
  for j = 1, 3 do
    local key = ARGV[i + j]
    if key ~= '' then
      redis.call('ZADD', key, expiry, ARGV[i])
      if not touched[key] then
        touched[key] = true
        redis.call('PEXPIRE', key, ttl)
      end
    end
  end
  n = n + 1
end
return n
`;

/** ARGV: leaseId, fleetKey, ipKey, subKey ('' = not counted there). */
export const RELEASE = `
for j = 2, 4 do
  if ARGV[j] ~= '' then redis.call('ZREM', ARGV[j], ARGV[1]) end
end
return 1
`;
