"""Redis-backed records of the control plane, one module per concept.

Key names come from rust_core's layout through `native.redis_key`, so both
planes read and write the same keys. Multi-key changes are Lua scripts (each
header lists KEYS, ARGV and the return value) or MULTI/EXEC transactions.
"""
