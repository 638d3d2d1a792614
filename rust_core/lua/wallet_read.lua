-- Read a platform's wallet after releasing its expired holds.
-- KEYS: 1 wallet, 2 wallet holds, 3 money settings, 4 test clock.
-- ARGV: 1 "1" to read the test clock.
-- Returns JSON: {"balance_nano", "reserved_nano", "threshold_nano", "updated_at_ms"}.
local now = now_ms(KEYS[4], ARGV[1])
sweep_holds(KEYS[2], KEYS[1], now)
local fields = redis.call('HMGET', KEYS[1], 'balance_nano', 'reserved_nano', 'updated_at_ms')
return cjson.encode({ balance_nano = fields[1] or '0', reserved_nano = fields[2] or '0',
  threshold_nano = int(load_settings(KEYS[3]).wallet_threshold),
  updated_at_ms = fields[3] or '0' })
