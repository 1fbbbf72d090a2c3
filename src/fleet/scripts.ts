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
//   ip:<ipKey>     the same, per client address, and per wider IPv6 prefix
//                  (ip:2001:db8::/48) of IPV6_PREFIX_LIMITS
//   sub:<subject>  the same, per verified subject
// A lease is counted while its score is in the future; expired ones are
// removed by the next decision on that set. Time is Redis's own TIME, so the
// replicas' clocks never have to agree.

/**
 * KEYS: none (built from ARGV[1]; all under one hash tag).
 * ARGV: prefix, leaseId, leaseMs, burst, windowMs, ipKey, fleetMax, ipMax, subject, subMax,
 * ticketId, ticketUntilSeconds, then per wider IPv6 prefix of the address: prefixKey, prefixMax,
 * factor (its bucket holds factor x burst and refills factor times as fast, as the local gate's)
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
local px = {}
for i = 13, #ARGV, 3 do px[#px + 1] = {ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])} end
if burst > 0 then
  -- The address's bucket and each prefix's: all must have a token, then each gives one.
  local keys, caps, left = {p .. 'rate:' .. ip}, {burst}, {}
  for _, q in ipairs(px) do
    keys[#keys + 1] = p .. 'rate:' .. q[1]
    caps[#caps + 1] = burst * q[3]
  end
  local wait = 0
  for k = 1, #keys do
    local cap = caps[k]
    local b = redis.call('HMGET', keys[k], 't', 's')
    local tokens = cap
    if b[1] then
      tokens = tonumber(b[1]) + (now - tonumber(b[2])) * cap / windowMs
      if tokens > cap then tokens = cap end
    end
    left[k] = tokens
    if tokens < 1 - 1e-9 then
      local w = math.ceil((1 - tokens) * windowMs / cap / 1000 - 1e-6)
      if w < 1 then w = 1 end
      if w > wait then wait = w end
    end
  end
  if wait > 0 then return {1, wait} end
  for k = 1, #keys do
    redis.call('HSET', keys[k], 't', tostring(left[k] - 1), 's', now)
    redis.call('PEXPIRE', keys[k], windowMs)
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
for _, q in ipairs(px) do
  if full(p .. 'ip:' .. q[1], q[2]) then return {3, 0} end
end
if sub ~= '' and full(sk, subMax) then return {4, 0} end
local function add(key)
  redis.call('ZADD', key, now + leaseMs, lease)
  redis.call('PEXPIRE', key, leaseMs * 2)
end
if fleetMax > 0 then add(fk) end
if ipMax > 0 then add(ik) end
if sub ~= '' and subMax > 0 then add(sk) end
for _, q in ipairs(px) do
  if q[2] > 0 then add(p .. 'ip:' .. q[1]) end
end
return {0, 0}
`;

/**
 * Renew (or re-assert, after a Redis restart lost them) a batch of leases.
 * ARGV: leaseMs, then per lease: leaseId, the number of its keys, its keys (the sets it is counted in).
 * Returns the number of leases renewed.
 */
export const RENEW = `
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local ttl = tonumber(ARGV[1]) * 2
local touched = {}
local n = 0
local i = 2
while i <= #ARGV do
  local id, count = ARGV[i], tonumber(ARGV[i + 1])
  for j = 1, count do
    local key = ARGV[i + 1 + j]
    redis.call('ZADD', key, expiry, id)
    if not touched[key] then
      touched[key] = true
      redis.call('PEXPIRE', key, ttl)
    end
  end
  n = n + 1
  i = i + 2 + count
end
return n
`;

/** ARGV: leaseId, then the keys of the sets it is counted in. */
export const RELEASE = `
for j = 2, #ARGV do redis.call('ZREM', ARGV[j], ARGV[1]) end
return 1
`;
