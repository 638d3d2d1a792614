-- Credit a platform's wallet once per reference.
-- KEYS: 1 platform record, 2 wallet, 3 wallet ledger, 4 wallet references,
--       5 money settings, 6 outbox, 7 test clock.
-- ARGV: 1 "1" to read the test clock, 2 id seed (ULID), 3 platform id,
--       4 amount (nano-USD, positive), 5 reference, 6 reason.
-- Returns JSON: {"status": 201, "transaction", "balance_nano"} for a new credit;
-- {"status": 200, "replayed": true, ...} when the reference was credited with the
-- same amount before; {"status": 409, "code": "conflict", "message", "amount_nano"} when
-- it was credited with another amount, `amount_nano` being that first credit; {"status": 404, "code": "not_found", "message"} for an
-- unknown platform; {"status": 400, "code": "invalid_request", "message"} when the
-- balance would pass the maximum kept exact.
ID_SEED = ARGV[2]
local now = now_ms(KEYS[7], ARGV[1])
local platform_id, amount, reference, reason = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return cjson.encode({ status = 404, code = 'not_found', message = 'platform not found' })
end

local previous = redis.call('HGET', KEYS[4], reference)
if previous then
  local transaction = cjson.decode(previous)
  if transaction.amount_nano ~= int(amount) then
    return cjson.encode({ status = 409, code = 'conflict',
      message = 'reference ' .. reference .. ' already credited '
        .. transaction.amount_nano .. ' nano-USD', amount_nano = transaction.amount_nano })
  end
  return cjson.encode({ status = 200, replayed = true, transaction = transaction,
    balance_nano = redis.call('HGET', KEYS[2], 'balance_nano') or '0' })
end

if num(redis.call('HGET', KEYS[2], 'balance_nano'), 0) + amount > MAX_BALANCE then
  return cjson.encode({ status = 400, code = 'invalid_request',
    message = 'the credit would take the balance past the maximum of 9,000,000 USD' })
end
local balance = redis.call('HINCRBY', KEYS[2], 'balance_nano', amount)
redis.call('HSET', KEYS[2], 'updated_at_ms', int(now))
local txn = append_ledger(KEYS[3], 'topup', amount, balance, reason, '', reference, now)
local transaction = { id = txn, type = 'topup', amount_nano = int(amount),
  balance_after_nano = int(balance), reason = reason, reference = reference,
  created_at = int(now) }
redis.call('HSET', KEYS[4], reference, cjson.encode(transaction))
append_event(KEYS[6], 'wallet.topped_up', platform_id, '', amount, balance, now)
check_wallet_low(KEYS[2], KEYS[6], load_settings(KEYS[5]), platform_id, amount, now)
return cjson.encode({ status = 201, replayed = false, transaction = transaction,
  balance_nano = int(balance) })
