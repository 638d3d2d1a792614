-- Settle one admitted call after its last byte: release its holds, debit the
-- exact charge from the budget and the provider cost from the wallet with their
-- ledger entries and events, and correct the tokens-per-minute bucket by the
-- real usage. A call that cost nothing writes no ledger entry. When the log keys
-- are given, it then writes the call's request-log entry as the log append
-- script does, in the same run.
-- KEYS: 1 money settings, 2 budget, 3 budget holds, 4 budget ledger, 5 wallet,
--       6 wallet holds, 7 wallet ledger, 8 rate-limit defaults, 9 end-user rate-limit
--       override, 10 rate-limit buckets, 11 outbox, 12 test clock, and optionally
--       13 platform log stream, 14 request-id record, 15 end user's log index.
-- ARGV: 1 "1" to read the test clock, 2 id seed (ULID), 3 platform id, 4 end user id,
--       5 request id, 6 budget hold (nano-USD, 0 for none), 7 wallet hold (nano-USD),
--       8 provider cost (nano-USD), 9 end-user charge (nano-USD), 10 token estimate
--       taken at admission, 11 tokens used, 12 ledger reason, and with the log keys
--       13 log retention (ms), 14.. the log entry as field, value pairs.
-- The end user is charged at most the budget hold. The wallet pays the whole
-- provider cost, which only exceeds its hold when a provider reports more usage
-- than the request allowed.
-- Returns JSON: {"charged_nano", "budget_balance_nano" (absent without a budget),
-- "wallet_balance_nano", "log_id" (the entry's stream id, absent when no entry
-- was written)}.
ID_SEED = ARGV[2]
local now, from_test_clock = clock_ms(KEYS[12], ARGV[1])
local platform_id, end_user_id, request_id = ARGV[3], ARGV[4], ARGV[5]
local budget_hold, wallet_hold = tonumber(ARGV[6]), tonumber(ARGV[7])
local cost, charge = tonumber(ARGV[8]), tonumber(ARGV[9])
local reason = ARGV[12]
local settings = load_settings(KEYS[1])
local reply = {}

if budget_hold > 0 then
  release_hold(KEYS[3], KEYS[2], request_id, budget_hold)
end
local budget = load_budget(KEYS[2])
local charged = 0
if budget then
  sweep_holds(KEYS[3], KEYS[2], now)
  apply_reset(KEYS[2], KEYS[4], budget, now)
  charged = charge
  if budget_hold > 0 then charged = math.min(charge, budget_hold) end
  if charged > 0 then
    budget.spent = budget.spent + charged
    redis.call('HSET', KEYS[2], 'spent_nano', int(budget.spent), 'updated_at_ms', int(now))
    append_ledger(KEYS[4], 'usage', -charged, budget_balance(budget), reason, request_id, '', now)
    check_budget_low(KEYS[2], KEYS[11], budget, settings, platform_id, end_user_id, -charged, now)
  end
  reply.budget_balance_nano = int(budget_balance(budget))
end
reply.charged_nano = int(charged)

release_hold(KEYS[6], KEYS[5], request_id, wallet_hold)
sweep_holds(KEYS[6], KEYS[5], now)
if cost > 0 then
  local balance = redis.call('HINCRBY', KEYS[5], 'balance_nano', -cost)
  redis.call('HSET', KEYS[5], 'updated_at_ms', int(now))
  append_ledger(KEYS[7], 'usage', -cost, balance, reason, request_id, '', now)
  check_wallet_low(KEYS[5], KEYS[11], settings, platform_id, -cost, now)
  reply.wallet_balance_nano = int(balance)
else
  reply.wallet_balance_nano = redis.call('HGET', KEYS[5], 'balance_nano') or '0'
end

-- Only a bucket that exists is corrected.
local tpm_limit = effective_limit(KEYS[8], KEYS[9], 'tokens_per_minute')
if tpm_limit then
  local stored = redis.call('HMGET', KEYS[10], 'tpm', 'tpm_at')
  if stored[1] then
    local tpm = bucket_from('tpm', tpm_limit, 60000, now, stored[1], stored[2])
    local correction = (tonumber(ARGV[10]) - tonumber(ARGV[11])) * tpm.period
    tpm.level = math.max(math.min(tpm.level + correction, tpm.capacity), -tpm.capacity)
    save_buckets(KEYS[10], { tpm }, 1, now)
  end
end

if KEYS[13] then
  local fields = {}
  for i = 14, #ARGV do fields[#fields + 1] = ARGV[i] end
  -- The money above is settled whatever happens here: a failed write only
  -- leaves "log_id" out, and the caller then writes the entry on its own.
  local ok, id = pcall(append_log_entry, KEYS[13], KEYS[14], KEYS[15], now, from_test_clock,
    tonumber(ARGV[13]), fields)
  if ok then reply.log_id = id end
end
return cjson.encode(reply)
