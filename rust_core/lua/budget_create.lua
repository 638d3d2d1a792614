-- Create an end user's budget with its opening ledger entry.
-- KEYS and ARGV 1-7: as in `budget_context` of lib.lua.
-- ARGV: 8 amount (nano-USD), 9 period (one_time|daily|monthly), 10 low-balance
--       threshold (nano-USD, -1 for the platform's default).
-- Returns JSON: {"status": 201, budget fields}, or {"status", "code", "message"} with
-- 404 not_found, 409 conflict (a budget exists) or 409 idempotency_key_in_use.
local ctx = budget_context()
if not idempotency_owned(ctx.record_key, ctx.token) then
  return cjson.encode({ status = 409, code = 'idempotency_key_in_use',
    message = 'another request with this Idempotency-Key is in progress' })
end
if redis.call('EXISTS', ctx.end_user_key) == 0 then
  return budget_error(ctx, 404, 'not_found', 'end user not found')
end
if redis.call('EXISTS', ctx.budget_key) == 1 then
  return budget_error(ctx, 409, 'conflict',
    'this end user already has a budget; change it with PATCH')
end
local budget = create_budget(ctx.budget_key, ctx.ledger_key, tonumber(ARGV[8]), ARGV[9],
  tonumber(ARGV[10]), ctx.now, 'budget created', ctx.idempotency_key)
local settings = load_settings(ctx.settings_key)
check_budget_low(ctx.budget_key, ctx.outbox_key, budget, settings, ctx.platform_id,
  ctx.end_user_id, 0, ctx.now)
return budget_done(ctx, 201, budget_fields(budget))
