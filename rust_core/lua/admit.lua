-- Admit one call before it goes upstream: check the budget, the wallet and the
-- rate limits, then reserve the call's maximum cost and take its tokens. Every
-- check runs before any hold or token is taken, so a rejection changes nothing
-- beyond releasing expired holds and applying a due period reset.
-- KEYS: 1 money settings, 2 budget, 3 budget holds, 4 budget ledger, 5 wallet,
--       6 wallet holds, 7 rate-limit defaults, 8 end-user rate-limit override,
--       9 rate-limit buckets, 10 test clock.
-- ARGV: 1 "1" to read the test clock, 2 id seed (ULID), 3 request id,
--       4 maximum provider cost (nano-USD), 5 token estimate, 6 hold TTL (ms).
-- Returns JSON: {"ok": true, "markup_bp", "budget_hold", "wallet_hold", "limits"}
-- or {"ok": false, "code", "message", "retry_after_ms", "limits"}, where "limits"
-- lists each limited bucket as {name, limit, remaining, reset_ms}.
ID_SEED = ARGV[2]
local now = now_ms(KEYS[10], ARGV[1])
local request_id = ARGV[3]
local max_cost = tonumber(ARGV[4])
local estimate = tonumber(ARGV[5])
local expires_at = now + tonumber(ARGV[6])
local settings = load_settings(KEYS[1])
local max_charge = with_markup(max_cost, settings.markup_bp)

local ctx = { budget_key = KEYS[2], holds_key = KEYS[3], ledger_key = KEYS[4], now = now }
local budget = open_budget(ctx, settings)

local bucket_names = { 'rpm', 'rpd', 'tpm' }
local bucket_periods = { 60000, 86400000, 60000 }
local limits = effective_limits(KEYS[7], KEYS[8],
  { 'requests_per_minute', 'requests_per_day', 'tokens_per_minute' })
local buckets = {}
if limits[1] or limits[2] or limits[3] then
  -- One read for the level and refill time of every bucket.
  local stored = redis.call('HMGET', KEYS[9], 'rpm', 'rpm_at', 'rpd', 'rpd_at', 'tpm', 'tpm_at')
  for i = 1, 3 do
    buckets[i] = bucket_from(bucket_names[i], limits[i], bucket_periods[i], now,
      stored[2 * i - 1], stored[2 * i])
  end
end
local function limits_report()
  local report = {}
  for i = 1, 3 do
    local bucket = buckets[i]
    if bucket then
      table.insert(report, { name = bucket.name, limit = bucket.limit,
        remaining = bucket_remaining(bucket), reset_ms = bucket_reset(bucket) })
    end
  end
  if #report == 0 then return nil end
  return report
end
local function reject(code, message, retry_after_ms)
  return cjson.encode({ ok = false, code = code, message = message,
    retry_after_ms = retry_after_ms or 0, limits = limits_report() })
end

if budget then
  if budget.suspended then
    return reject('budget_suspended', 'the budget of this end user is suspended')
  end
  local available = budget_balance(budget) - budget.reserved
  if available < max_charge then
    return reject('budget_exhausted', 'the budget of this end user cannot cover this request: '
      .. int(math.max(available, 0)) .. ' nano-USD left, up to ' .. int(max_charge)
      .. ' nano-USD needed')
  end
end

sweep_holds(KEYS[6], KEYS[5], now)
local wallet = redis.call('HMGET', KEYS[5], 'balance_nano', 'reserved_nano')
local wallet_available = num(wallet[1], 0) - num(wallet[2], 0)
if wallet_available < max_cost then
  return reject('wallet_insufficient', "the platform's wallet cannot cover this request; "
    .. 'credit the wallet to resume')
end

for i = 1, 3 do
  local bucket = buckets[i]
  if bucket then
    local tokens = bucket.name == 'tpm' and estimate or 1
    local wait = bucket_wait(bucket, tokens)
    if wait > 0 then
      local unit = bucket.name == 'tpm' and 'tokens per minute' or
        (bucket.name == 'rpm' and 'requests per minute' or 'requests per day')
      local message = 'rate limit of ' .. int(bucket.limit) .. ' ' .. unit .. ' reached'
      if tokens > bucket.limit then
        message = 'this request needs about ' .. int(tokens) .. ' tokens, more than the limit of '
          .. int(bucket.limit) .. ' tokens per minute'
      end
      return reject('rate_limited', message, wait)
    end
  end
end

for i = 1, 3 do
  local bucket = buckets[i]
  if bucket then
    local tokens = bucket.name == 'tpm' and estimate or 1
    bucket.level = bucket.level - tokens * bucket.period
  end
end
save_buckets(KEYS[9], buckets, 3, now)
if buckets[1] or buckets[2] or buckets[3] then
  redis.call('PEXPIRE', KEYS[9], 2 * 86400000)
end

local budget_hold = 0
if budget then
  budget_hold = max_charge
  place_hold(KEYS[3], KEYS[2], request_id, max_charge, expires_at)
end
place_hold(KEYS[6], KEYS[5], request_id, max_cost, expires_at)
return cjson.encode({ ok = true, markup_bp = settings.markup_bp, budget_hold = int(budget_hold),
  wallet_hold = int(max_cost), limits = limits_report() })
