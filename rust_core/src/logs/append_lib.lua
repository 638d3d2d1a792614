-- Append one request-log entry to the platform's log stream, to the end user's
-- log index (when the call has an end user) and under its request id, then
-- trim the entries older than the retention window from both streams. Both
-- the log append script and the settlement script run this function.
-- `now` is the time in Unix ms and `from_test_clock` whether it came from the
-- platform's test clock; `fields` the entry as a list of field, value pairs.
-- Returns the entry's stream id. A request id that already has an entry is
-- not written again: its existing id is returned, so a retried write after a
-- lost reply never duplicates an entry.
local function append_log_entry(stream_key, record_key, index_key, now, from_test_clock,
                                retention, fields)
  local existing = redis.call('GET', record_key)
  if existing then return existing end

  -- Under a test clock the id carries the clock's milliseconds, unless the
  -- stream already holds a later id (the clock moved back): then Redis picks
  -- the next id.
  local id
  if from_test_clock then
    id = redis.pcall('XADD', stream_key, string.format('%d-*', now), unpack(fields))
    if type(id) ~= 'string' then id = nil end
  end
  id = id or redis.call('XADD', stream_key, '*', unpack(fields))
  redis.call('SET', record_key, id, 'PX', retention)

  -- Entries older than `min_id` are past retention. `~` lets Redis drop only
  -- whole stream nodes, which costs one comparison when nothing is due.
  local min_id = string.format('%d-0', math.max(now - retention, 0))
  redis.call('XTRIM', stream_key, 'MINID', '~', min_id)
  redis.call('PEXPIRE', stream_key, retention)
  if index_key then
    -- The index entry takes the log entry's id, so that ids and cursors mean
    -- the same in both streams. Its one field is empty because only the id
    -- matters. Index ids only copy log ids, which grow, so this XADD fails
    -- only if someone deleted the log stream by hand. The entry then stays in
    -- the platform log without an index entry.
    redis.pcall('XADD', index_key, id, 'log', '')
    redis.call('XTRIM', index_key, 'MINID', '~', min_id)
    redis.call('PEXPIRE', index_key, retention)
  end
  return id
end
