-- Change a budget's amount, period, threshold or suspension.
-- KEYS and ARGV 1-7: as in `budget_context` of lib.lua.
-- ARGV: 8 amount (nano-USD, "" to keep), 9 period ("" to keep), 10 threshold (nano-USD,
--       "" to keep, -1 for the platform's default), 11 suspended ("" to keep, "0", "1").
-- A new amount moves this period's allowance by the difference (an `adjustment`
-- entry); a new period starts at the UTC boundary containing now, balance kept.
-- Returns JSON: {"status": 200, budget fields} or {"status": 404, "code", "message"}.
local ctx = budget_context()
if redis.call('EXISTS', ctx.end_user_key) == 0 then
  return budget_error(ctx, 404, 'not_found', 'end user not found')
end
local settings = load_settings(ctx.settings_key)
local budget = open_budget(ctx, settings)
if budget == nil then
  return budget_error(ctx, 404, 'not_found', 'this end user has no budget')
end

if ARGV[8] ~= '' then
  local amount = tonumber(ARGV[8])
  local delta = amount - budget.amount
  budget.amount = amount
  budget.granted = budget.granted + delta
  redis.call('HSET', ctx.budget_key, 'amount_nano', int(amount), 'granted_nano',
    int(budget.granted))
  if delta ~= 0 then
    append_ledger(ctx.ledger_key, 'adjustment', delta, budget_balance(budget), 'amount changed',
      '', '', ctx.now)
  end
end
if ARGV[9] ~= '' and ARGV[9] ~= budget.period then
  local start, resets_at = period_bounds(ARGV[9], ctx.now)
  budget.period = ARGV[9]
  budget.period_start = start
  budget.resets_at = resets_at
  redis.call('HSET', ctx.budget_key, 'period', ARGV[9], 'period_start_ms', int(start),
    'resets_at_ms', int(resets_at))
end
if ARGV[10] ~= '' then
  budget.threshold = tonumber(ARGV[10])
  redis.call('HSET', ctx.budget_key, 'threshold_nano', ARGV[10])
end
if ARGV[11] ~= '' then
  local suspended = ARGV[11] == '1'
  if suspended ~= budget.suspended then
    budget.suspended = suspended
    redis.call('HSET', ctx.budget_key, 'suspended', ARGV[11])
    append_event(ctx.outbox_key, suspended and 'budget.suspended' or 'budget.unsuspended',
      ctx.platform_id, ctx.end_user_id, 0, budget_balance(budget), ctx.now)
  end
end
budget.updated_at = ctx.now
redis.call('HSET', ctx.budget_key, 'updated_at_ms', int(ctx.now))
check_budget_low(ctx.budget_key, ctx.outbox_key, budget, settings, ctx.platform_id,
  ctx.end_user_id, 0, ctx.now)
return budget_done(ctx, 200, budget_fields(budget))
