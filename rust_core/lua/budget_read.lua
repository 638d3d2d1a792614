-- Read a budget, applying due resets and creating the platform's default budget.
-- KEYS and ARGV 1-7: as in `budget_context` of lib.lua.
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
return budget_done(ctx, 200, budget_fields(budget))
