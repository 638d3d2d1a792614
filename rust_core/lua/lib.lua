-- Shared helpers of the money scripts. Every script is this file followed by
-- its own body, so each one stays a single atomic EVAL.
--
-- Units: money is integer nano-USD, times are Unix milliseconds. Lua numbers
-- are doubles, so every amount stays below 2^53 nano-USD (about 9 million USD):
-- the control plane bounds single operations and balances well below that.
-- Integers are written with `int()` because Lua's default number format
-- switches to exponents past 14 digits.

local MS_PER_DAY = 86400000
local ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
local HOLD_SWEEP_LIMIT = 100
local IDEMPOTENCY_TTL_MS = 86400000
-- Largest balance kept exact: below 2^53 nano-USD, about 9 million USD.
local MAX_BALANCE = 9000000000000000

local function int(n)
  return string.format('%d', n)
end

local function num(value, default)
  local n = tonumber(value)
  if n == nil then return default end
  return n
end

-- The current time: the test clock key when the caller enables it and the key
-- is set, else the server's clock. The second value tells whether it came from
-- the test clock.
local function clock_ms(clock_key, use_test_clock)
  if use_test_clock == '1' then
    local frozen = tonumber(redis.call('GET', clock_key))
    if frozen then return frozen, true end
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), false
end

local function now_ms(clock_key, use_test_clock)
  local now = clock_ms(clock_key, use_test_clock)
  return now
end

-- Ids: the caller passes a fresh 26-character ULID as a seed; the n-th id of one
-- script run replaces its last (random) character with the n-th alphabet letter,
-- so ids stay valid ULIDs, unique and sortable by the caller's clock.
local ID_SEED = ''
local id_count = 0
local function new_id(prefix)
  id_count = id_count + 1
  return prefix .. '_' .. string.sub(ID_SEED, 1, 25) .. string.sub(ID_ALPHABET, id_count, id_count)
end

-- Proleptic Gregorian calendar in days since 1970-01-01 (H. Hinnant's algorithms).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- The UTC period containing `now`: its start and the next reset, both in ms.
-- A one-time budget starts at `now` and never resets (reset 0).
local function period_bounds(period, now)
  local day = math.floor(now / MS_PER_DAY)
  if period == 'daily' then
    return day * MS_PER_DAY, (day + 1) * MS_PER_DAY
  elseif period == 'monthly' then
    local y, m = civil_from_days(day)
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    return days_from_civil(y, m, 1) * MS_PER_DAY, days_from_civil(ny, nm, 1) * MS_PER_DAY
  end
  return now, 0
end

-- Markup in basis points, rounded up to the next nano-USD. The cost is split so
-- that no intermediate product passes 2^53.
local function with_markup(cost, markup_bp)
  if markup_bp <= 0 then return cost end
  local high = math.floor(cost / 10000)
  local low = cost - high * 10000
  return cost + high * markup_bp + math.ceil(low * markup_bp / 10000)
end

local function append_ledger(ledger_key, entry_type, amount, balance_after, reason, request_id,
                             idempotency_key, now)
  local id = new_id('txn')
  redis.call('XADD', ledger_key, '*', 'id', id, 'type', entry_type, 'amount_nano', int(amount),
    'balance_after_nano', int(balance_after), 'reason', reason or '', 'request_id',
    request_id or '', 'idempotency_key', idempotency_key or '', 'created_at', int(now))
  return id
end

local function append_event(outbox_key, event_type, platform_id, end_user_id, amount,
                            balance_after, now)
  local id = new_id('evt')
  redis.call('XADD', outbox_key, '*', 'id', id, 'type', event_type, 'platform_id', platform_id,
    'end_user_id', end_user_id or '', 'amount_nano', int(amount), 'balance_after_nano',
    int(balance_after), 'created_at', int(now))
  return id
end

-- Release up to HOLD_SWEEP_LIMIT expired holds of a budget or wallet. A hold's
-- member is `<request id>:<amount>` and its score the expiry time. Returns the
-- amount released.
local function sweep_holds(holds_key, owner_key, now)
  local expired = redis.call('ZRANGEBYSCORE', holds_key, '-inf', now, 'LIMIT', 0, HOLD_SWEEP_LIMIT)
  local released = 0
  for _, member in ipairs(expired) do
    local amount = tonumber(string.match(member, ':(%d+)$')) or 0
    released = released + amount
  end
  if #expired > 0 then
    redis.call('ZREM', holds_key, unpack(expired))
    redis.call('HINCRBY', owner_key, 'reserved_nano', -released)
  end
  return released
end

local function hold_member(request_id, amount)
  return request_id .. ':' .. int(amount)
end

-- Release one hold if it is still there; returns whether it was.
local function release_hold(holds_key, owner_key, request_id, amount)
  if redis.call('ZREM', holds_key, hold_member(request_id, amount)) == 1 then
    redis.call('HINCRBY', owner_key, 'reserved_nano', -amount)
    return true
  end
  return false
end

local function place_hold(holds_key, owner_key, request_id, amount, expires_at)
  redis.call('ZADD', holds_key, expires_at, hold_member(request_id, amount))
  redis.call('HINCRBY', owner_key, 'reserved_nano', amount)
end

-- A budget hash as numbers, or nil when absent.
local function load_budget(budget_key)
  local raw = redis.call('HGETALL', budget_key)
  if #raw == 0 then return nil end
  local fields = {}
  for i = 1, #raw, 2 do fields[raw[i]] = raw[i + 1] end
  return {
    amount = num(fields.amount_nano, 0),
    period = fields.period or 'one_time',
    granted = num(fields.granted_nano, 0),
    spent = num(fields.spent_nano, 0),
    reserved = num(fields.reserved_nano, 0),
    period_start = num(fields.period_start_ms, 0),
    resets_at = num(fields.resets_at_ms, 0),
    threshold = num(fields.threshold_nano, -1),
    suspended = fields.suspended == '1',
    low = fields.low == '1',
    created_at = num(fields.created_at_ms, 0),
    updated_at = num(fields.updated_at_ms, 0),
  }
end

local function budget_balance(budget)
  return budget.granted - budget.spent
end

-- Platform money settings mirrored from the platform record as integers.
local function load_settings(settings_key)
  local raw = redis.call('HGETALL', settings_key)
  local fields = {}
  for i = 1, #raw, 2 do fields[raw[i]] = raw[i + 1] end
  return {
    markup_bp = num(fields.markup_bp, 0),
    default_amount = num(fields.default_amount_nano, -1),
    default_period = fields.default_period or 'one_time',
    budget_threshold = num(fields.budget_threshold_nano, -1),
    wallet_threshold = num(fields.wallet_threshold_nano, -1),
  }
end

-- The budget's own threshold, else the platform's default; -1 when neither is set.
local function budget_threshold(budget, settings)
  if budget.threshold >= 0 then return budget.threshold end
  return settings.budget_threshold
end

-- Start a new period when `now` passed the reset time. Missed periods collapse
-- into one `reset` entry that brings the balance back to the amount, so top-ups
-- and debits of the old period end with it.
local function apply_reset(budget_key, ledger_key, budget, now)
  if budget.resets_at == 0 or now < budget.resets_at then return false end
  local before = budget_balance(budget)
  local start, resets_at = period_bounds(budget.period, now)
  budget.granted = budget.amount
  budget.spent = 0
  budget.period_start = start
  budget.resets_at = resets_at
  budget.low = false
  redis.call('HSET', budget_key, 'granted_nano', int(budget.granted), 'spent_nano', '0',
    'period_start_ms', int(start), 'resets_at_ms', int(resets_at), 'low', '0',
    'updated_at_ms', int(now))
  append_ledger(ledger_key, 'reset', budget.amount - before, budget.amount, 'period reset', '', '',
    now)
  return true
end

-- Write a new budget and its opening ledger entry.
local function create_budget(budget_key, ledger_key, amount, period, threshold, now, reason,
                             idempotency_key)
  local start, resets_at = period_bounds(period, now)
  redis.call('DEL', budget_key)
  redis.call('HSET', budget_key, 'amount_nano', int(amount), 'period', period, 'granted_nano',
    int(amount), 'spent_nano', '0', 'reserved_nano', '0', 'period_start_ms', int(start),
    'resets_at_ms', int(resets_at), 'threshold_nano', int(threshold), 'suspended', '0', 'low', '0',
    'created_at_ms', int(now), 'updated_at_ms', int(now))
  append_ledger(ledger_key, 'adjustment', amount, amount, reason, '', idempotency_key, now)
  return load_budget(budget_key)
end

-- Emit `budget.low_balance` when the balance fell below the threshold since the
-- last crossing, and re-arm it once the balance is back at or above.
local function check_budget_low(budget_key, outbox_key, budget, settings, platform_id, end_user_id,
                                amount, now)
  local threshold = budget_threshold(budget, settings)
  local balance = budget_balance(budget)
  if threshold >= 0 and balance < threshold then
    if not budget.low then
      budget.low = true
      redis.call('HSET', budget_key, 'low', '1')
      append_event(outbox_key, 'budget.low_balance', platform_id, end_user_id, amount, balance, now)
    end
  elseif budget.low then
    budget.low = false
    redis.call('HSET', budget_key, 'low', '0')
  end
end

local function check_wallet_low(wallet_key, outbox_key, settings, platform_id, amount, now)
  local wallet = redis.call('HMGET', wallet_key, 'balance_nano', 'low')
  local balance = num(wallet[1], 0)
  local low = wallet[2] == '1'
  local threshold = settings.wallet_threshold
  if threshold >= 0 and balance < threshold then
    if not low then
      redis.call('HSET', wallet_key, 'low', '1')
      append_event(outbox_key, 'wallet.low_balance', platform_id, '', amount, balance, now)
    end
  elseif low then
    redis.call('HSET', wallet_key, 'low', '0')
  end
end

local function budget_reply(budget)
  return {
    'amount_nano', int(budget.amount), 'period', budget.period,
    'granted_nano', int(budget.granted), 'spent_nano', int(budget.spent),
    'reserved_nano', int(budget.reserved), 'period_start_ms', int(budget.period_start),
    'resets_at_ms', int(budget.resets_at), 'threshold_nano', int(budget.threshold),
    'suspended', budget.suspended and '1' or '0', 'low', budget.low and '1' or '0',
    'created_at_ms', int(budget.created_at), 'updated_at_ms', int(budget.updated_at),
  }
end

-- Idempotency records (hash): `state` running|done, `fingerprint`, `token`, and once
-- done `status`, `result` (a flat JSON object of strings) and `request_id`. A script
-- that changes money under a key first checks that the running record is still its
-- own, then writes the result in the same step as the change.
local function idempotency_owned(record_key, token)
  if token == '' then return true end
  return redis.call('HGET', record_key, 'token') == token
    and redis.call('HGET', record_key, 'state') == 'running'
end

local function idempotency_finish(record_key, token, status, result, request_id)
  if token == '' then return end
  redis.call('HSET', record_key, 'state', 'done', 'status', tostring(status), 'result',
    cjson.encode(result), 'request_id', request_id)
  redis.call('PEXPIRE', record_key, IDEMPOTENCY_TTL_MS)
end

-- Budget scripts share their first keys and arguments:
-- KEYS: 1 end-user record, 2 budget, 3 budget holds, 4 budget ledger, 5 money settings,
--       6 outbox, 7 idempotency record, 8 test clock.
-- ARGV: 1 "1" to read the test clock, 2 id seed (ULID), 3 platform id, 4 end user id,
--       5 request id, 6 idempotency token ("" without a key), 7 Idempotency-Key value.
local function budget_context()
  ID_SEED = ARGV[2]
  return {
    end_user_key = KEYS[1], budget_key = KEYS[2], holds_key = KEYS[3], ledger_key = KEYS[4],
    settings_key = KEYS[5], outbox_key = KEYS[6], record_key = KEYS[7],
    now = now_ms(KEYS[8], ARGV[1]),
    platform_id = ARGV[3], end_user_id = ARGV[4], request_id = ARGV[5],
    token = ARGV[6], idempotency_key = ARGV[7],
  }
end

-- The end user's budget after sweeping expired holds and applying a due reset.
-- Without a budget, the platform's default budget is created when it has one.
local function open_budget(ctx, settings)
  local budget = load_budget(ctx.budget_key)
  if budget == nil then
    if settings.default_amount < 0 then return nil end
    return create_budget(ctx.budget_key, ctx.ledger_key, settings.default_amount,
      settings.default_period, -1, ctx.now, 'default budget', '')
  end
  -- The sweep lowers the stored reservation by what it released.
  budget.reserved = budget.reserved - sweep_holds(ctx.holds_key, ctx.budget_key, ctx.now)
  apply_reset(ctx.budget_key, ctx.ledger_key, budget, ctx.now)
  return budget
end

-- Finish a budget script: record the outcome under the idempotency key and
-- return it as JSON.
local function budget_done(ctx, status, result)
  result.status = status
  idempotency_finish(ctx.record_key, ctx.token, status, result, ctx.request_id)
  return cjson.encode(result)
end

local function budget_error(ctx, status, code, message)
  return budget_done(ctx, status, { code = code, message = message })
end

local function budget_fields(budget)
  local reply = budget_reply(budget)
  local fields = {}
  for i = 1, #reply, 2 do fields[reply[i]] = reply[i + 1] end
  return fields
end

-- Rate limits per end user: the override hash's field when present ("none" for
-- unlimited), else the platform default's field, else unlimited (nil).
local function effective_limit(defaults_key, override_key, field)
  local override = redis.call('HGET', override_key, field)
  if override then return tonumber(override) end
  return tonumber(redis.call('HGET', defaults_key, field))
end

-- The same for several fields at once, in at most two reads. Returns the
-- limits in the order of `fields`, nil for unlimited.
local function effective_limits(defaults_key, override_key, fields)
  local overrides = redis.call('HMGET', override_key, unpack(fields))
  local defaults
  local limits = {}
  for i = 1, #fields do
    if overrides[i] then
      limits[i] = tonumber(overrides[i])
    else
      defaults = defaults or redis.call('HMGET', defaults_key, unpack(fields))
      limits[i] = tonumber(defaults[i])
    end
  end
  return limits
end

-- A token bucket holding `limit` tokens that refills fully over `period_ms`. Its
-- level is kept in token-milliseconds (one token = period_ms units), so refills
-- of `limit` units per millisecond stay exact integers. `stored_level` and
-- `stored_at` are the bucket's fields as read from its hash (nil when absent).
local function bucket_from(name, limit, period_ms, now, stored_level, stored_at)
  if limit == nil then return nil end
  local capacity = limit * period_ms
  local level = tonumber(stored_level)
  if level == nil then
    level = capacity
  else
    local at = num(stored_at, now)
    level = math.min(capacity, level + math.max(now - at, 0) * limit)
  end
  return { name = name, limit = limit, period = period_ms, capacity = capacity, level = level }
end

-- Save the buckets of `buckets` that are not nil (the list may have holes up
-- to `count`) in one write.
local function save_buckets(state_key, buckets, count, now)
  local fields = {}
  for i = 1, count do
    local bucket = buckets[i]
    if bucket then
      fields[#fields + 1] = bucket.name
      fields[#fields + 1] = int(bucket.level)
      fields[#fields + 1] = bucket.name .. '_at'
      fields[#fields + 1] = int(now)
    end
  end
  if #fields > 0 then redis.call('HSET', state_key, unpack(fields)) end
end

-- Milliseconds until `bucket` holds `tokens` more than now; 0 when it does.
local function bucket_wait(bucket, tokens)
  local need = tokens * bucket.period
  if bucket.level >= need then return 0 end
  return math.ceil((need - bucket.level) / bucket.limit)
end

-- Milliseconds until `bucket` is full again.
local function bucket_reset(bucket)
  if bucket.level >= bucket.capacity then return 0 end
  return math.ceil((bucket.capacity - bucket.level) / bucket.limit)
end

local function bucket_remaining(bucket)
  return math.max(math.floor(bucket.level / bucket.period), 0)
end
