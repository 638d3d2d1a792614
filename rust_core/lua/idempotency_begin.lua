-- Claim an idempotency key for one request, or report why it cannot run.
-- KEYS: 1 idempotency record.
-- ARGV: 1 request fingerprint, 2 token of this request, 3 running TTL (ms).
-- Returns JSON: {"state": "new"} when claimed; {"state": "reused"} when the key was
-- used with another request; {"state": "in_use"} while the first request runs;
-- {"state": "done", "status", "result", "request_id"} to replay.
local record_key = KEYS[1]
local state = redis.call('HGET', record_key, 'state')
if not state then
  redis.call('HSET', record_key, 'state', 'running', 'fingerprint', ARGV[1], 'token', ARGV[2])
  redis.call('PEXPIRE', record_key, tonumber(ARGV[3]))
  return cjson.encode({ state = 'new' })
end
if redis.call('HGET', record_key, 'fingerprint') ~= ARGV[1] then
  return cjson.encode({ state = 'reused' })
end
if state == 'running' then
  return cjson.encode({ state = 'in_use' })
end
local stored = redis.call('HMGET', record_key, 'status', 'result', 'request_id')
return cjson.encode({ state = 'done', status = tonumber(stored[1]), result = stored[2],
  request_id = stored[3] })
