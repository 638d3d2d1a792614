-- Drop a claimed idempotency key whose request failed before changing anything,
-- so that a retry runs afresh.
-- KEYS: 1 idempotency record.
-- ARGV: 1 token of the request that claimed it.
-- Returns 1 when the record was dropped, 0 when it was not this request's claim.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1]
    and redis.call('HGET', KEYS[1], 'state') == 'running' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
