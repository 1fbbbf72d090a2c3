// Usage per caller per rolling day, kept in Redis for the whole fleet
// (docs/cost-control.md). The same model as usage/day-window.ts: hourly
// buckets, the window is the current hour and the 23 before it, in Redis's
// own clock (TIME), so the replicas' clocks never have to agree.
//
// Data model (under the fleet's prefix and hash tag):
//   use:<caller>  hash {a:<hour>: audio ms, t:<hour>: tokens}, where <caller> is
//                 sub:<subject> (CLIENT_AUTH) or ip:<address key> (an IPv6 /64);
//                 <hour> = Unix ms / 3600000. Expires 25 hours after its last
//                 write; buckets that left the window are deleted by the next add.
//
// An add runs atomically and answers the new totals, so every replica knows
// the fleet's sum as of its own last flush: two replicas cannot both spend
// the same remainder without one of them seeing the other's use at its next
// flush (usage/quotas.ts bounds how far apart flushes are).

/** What a script reads of a hash: its fields and values, alternating. */
const SUM_WINDOW = `
local function window(key, hour)
  local kv = redis.call('HGETALL', key)
  local buckets, stale, audio, tokens = {}, {}, 0, 0
  for i = 1, #kv, 2 do
    local f, v = kv[i], tonumber(kv[i + 1])
    local h = tonumber(string.sub(f, 3))
    if h == nil or h <= hour - 24 then
      stale[#stale + 1] = f
    elseif h <= hour then
      local b = buckets[h]
      if b == nil then b = {h, 0, 0}; buckets[h] = b end
      if string.sub(f, 1, 1) == 'a' then b[2] = b[2] + v; audio = audio + v
      else b[3] = b[3] + v; tokens = tokens + v end
    end
  end
  return buckets, stale, audio, tokens
end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hour = math.floor(nowMs / 3600000)
`;

/**
 * ARGV: prefix, then per caller: caller key, audio ms to add, tokens to add.
 * Returns, per caller in order, the window's audio ms and tokens after the add.
 */
export const USAGE_ADD = `${SUM_WINDOW}
local p, out = ARGV[1], {}
for i = 2, #ARGV, 3 do
  local key = p .. 'use:' .. ARGV[i]
  local a, tk = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if a > 0 then redis.call('HINCRBY', key, 'a:' .. hour, a) end
  if tk > 0 then redis.call('HINCRBY', key, 't:' .. hour, tk) end
  local _, stale, audio, tokens = window(key, hour)
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  if audio + tokens > 0 then redis.call('PEXPIRE', key, 25 * 3600000) end
  out[#out + 1] = audio
  out[#out + 1] = tokens
end
return out
`;

/**
 * Read-only. ARGV: prefix, caller key, audio limit, token limit (0 = off),
 * audio ms and tokens this replica holds that are not in Redis yet.
 * Returns {audio ms, tokens, seconds until both are under their limits (0: they are)},
 * the totals without the extra; the wait counts it in the current hour.
 */
export const USAGE_READ = `${SUM_WINDOW}
local key = ARGV[1] .. 'use:' .. ARGV[2]
local la, lt = tonumber(ARGV[3]), tonumber(ARGV[4])
local buckets, _, audio, tokens = window(key, hour)
local a, tk = audio + tonumber(ARGV[5]), tokens + tonumber(ARGV[6])
local function over() return (la > 0 and a >= la) or (lt > 0 and tk >= lt) end
if not over() then return {audio, tokens, 0} end
local list = {}
for _, b in pairs(buckets) do list[#list + 1] = b end
table.sort(list, function(x, y) return x[1] < y[1] end)
for _, b in ipairs(list) do
  a = a - b[2]
  tk = tk - b[3]
  if not over() then
    return {audio, tokens, math.max(1, math.ceil(((b[1] + 24) * 3600000 - nowMs) / 1000))}
  end
end
return {audio, tokens, math.max(1, math.ceil(((hour + 24) * 3600000 - nowMs) / 1000))}
`;
