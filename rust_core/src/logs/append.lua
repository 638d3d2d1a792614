-- The log append script: one request-log entry, written by
-- `append_log_entry` above.
-- KEYS: 1 platform log stream, 2 request-id record, 3 test clock,
--       4 end user's log index (absent for a call without an end user).
-- ARGV: 1 "1" to read the test clock, 2 retention (ms), 3.. the entry as
--       field, value pairs.
-- Returns the entry's stream id.

-- The time: the platform's test clock when the caller enables it and the key is
-- set (the money scripts read the same key), else the server's clock.
local now
if ARGV[1] == '1' then
  now = tonumber(redis.call('GET', KEYS[3]))
end
local from_test_clock = now ~= nil
if not from_test_clock then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
return append_log_entry(KEYS[1], KEYS[2], KEYS[4], now, from_test_clock, tonumber(ARGV[2]),
  fields)
