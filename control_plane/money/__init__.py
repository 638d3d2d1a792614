"""Budgets, wallets, rate limits and idempotency of the management API.

Every money change is one Lua script from `rust_core/lua/`, the same text the
data plane runs, loaded through `native.lua_script`. Amounts are integer
nano-USD in Redis and decimal USD in JSON; see `amounts`.
"""
