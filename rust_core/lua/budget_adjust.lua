-- Top up or debit a budget, with its ledger entry and event in the same step.
-- KEYS and ARGV 1-7: as in `budget_context` of lib.lua.
-- ARGV: 8 "topup" or "debit", 9 amount (nano-USD, positive), 10 reason.
-- A top-up adds to this period's allowance only; the next reset returns the
-- allowance to the budget's amount. A debit larger than the balance left after
-- in-flight reservations is rejected and changes nothing.
-- Returns JSON: {"status": 201, transaction and budget fields}, or {"status", "code",
-- "message"} with 404 not_found, 402 budget_exhausted or 409 idempotency_key_in_use.
local ctx = budget_context()
if not idempotency_owned(ctx.record_key, ctx.token) then
  return cjson.encode({ status = 409, code = 'idempotency_key_in_use',
    message = 'another request with this Idempotency-Key is in progress' })
end
if redis.call('EXISTS', ctx.end_user_key) == 0 then
  return budget_error(ctx, 404, 'not_found', 'end user not found')
end
local settings = load_settings(ctx.settings_key)
local budget = open_budget(ctx, settings)
if budget == nil then
  return budget_error(ctx, 404, 'not_found', 'this end user has no budget')
end

local kind = ARGV[8]
local amount = tonumber(ARGV[9])
local signed = amount
if kind == 'debit' then
  local available = budget_balance(budget) - budget.reserved
  if amount > available then
    return budget_error(ctx, 402, 'budget_exhausted',
      'the debit exceeds what is left of the budget (' .. int(math.max(available, 0))
      .. ' nano-USD after in-flight reservations)')
  end
  signed = -amount
elseif budget_balance(budget) + amount > MAX_BALANCE then
  return budget_error(ctx, 400, 'invalid_request',
    'the top-up would take the balance past the maximum of 9,000,000 USD')
end
budget.granted = budget.granted + signed
budget.updated_at = ctx.now
redis.call('HSET', ctx.budget_key, 'granted_nano', int(budget.granted), 'updated_at_ms',
  int(ctx.now))
local balance = budget_balance(budget)
local txn = append_ledger(ctx.ledger_key, kind, signed, balance, ARGV[10], '',
  ctx.idempotency_key, ctx.now)
append_event(ctx.outbox_key, kind == 'topup' and 'budget.topped_up' or 'budget.debited',
  ctx.platform_id, ctx.end_user_id, signed, balance, ctx.now)
check_budget_low(ctx.budget_key, ctx.outbox_key, budget, settings, ctx.platform_id,
  ctx.end_user_id, signed, ctx.now)

local result = budget_fields(budget)
result.transaction = {
  id = txn, type = kind, amount_nano = int(signed), balance_after_nano = int(balance),
  reason = ARGV[10], request_id = '', idempotency_key = ctx.idempotency_key,
  created_at = int(ctx.now),
}
return budget_done(ctx, 201, result)
