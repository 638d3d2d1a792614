-- Append one request-log entry to the platform's log stream, to the end user's
-- log index (when the call has an end user) and under its request id. Then trim
-- the entries older than the retention window from both streams.
-- KEYS: 1 platform log stream, 2 request-id record, 3 test clock,
--       4 end user's log index (absent for a call without an end user).
-- ARGV: 1 "1" to read the test clock, 2 retention (ms), 3.. the entry as
--       field, value pairs.
-- Returns the entry's stream id. A request id that already has an entry is
-- not written again: its existing id is returned, so a retried write after a
-- lost reply never duplicates an entry.
local existing = redis.call('GET', KEYS[2])
if existing then return existing end

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
local retention = tonumber(ARGV[2])
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end

-- Under a test clock the id carries the clock's milliseconds, unless the stream
-- already holds a later id (the clock moved back): then Redis picks the next id.
local id
if from_test_clock then
  id = redis.pcall('XADD', KEYS[1], string.format('%d-*', now), unpack(fields))
  if type(id) ~= 'string' then id = nil end
end
id = id or redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('SET', KEYS[2], id, 'PX', retention)

-- Entries older than `min_id` are past retention. `~` lets Redis drop only
-- whole stream nodes, which costs one comparison when nothing is due.
local min_id = string.format('%d-0', math.max(now - retention, 0))
redis.call('XTRIM', KEYS[1], 'MINID', '~', min_id)
redis.call('PEXPIRE', KEYS[1], retention)
if KEYS[4] then
  -- The index entry takes the log entry's id, so that ids and cursors mean the
  -- same in both streams. Its one field is empty because only the id matters.
  -- Index ids only copy log ids, which grow, so this XADD fails only if someone
  -- deleted the log stream by hand. The entry then stays in the platform log
  -- without an index entry.
  redis.pcall('XADD', KEYS[4], id, 'log', '')
  redis.call('XTRIM', KEYS[4], 'MINID', '~', min_id)
  redis.call('PEXPIRE', KEYS[4], retention)
end
return id
