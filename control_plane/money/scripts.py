"""The money scripts, loaded from the Rust core and bound to a Redis client.

redis-py's `register_script` runs each one with EVALSHA and falls back to
EVAL when the server lost its script cache.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from control_plane import native

_BOUND_ATTRIBUTE = "_assistiv_money_scripts"


class Scripts:
    """Every money script of one client, by name."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._scripts = {
            name: redis.register_script(native.lua_script(name))
            for name in native.lua_script_names()
        }

    async def run(self, name: str, keys: list[str], args: list[Any]) -> dict[str, Any]:
        """Run script `name` and decode its JSON reply."""
        script: AsyncScript = self._scripts[name]
        raw = await script(keys=keys, args=[str(arg) for arg in args])
        return json.loads(raw)


def scripts_for(redis: aioredis.Redis) -> Scripts:
    """The scripts of `redis`, registered once per client."""
    bound = getattr(redis, _BOUND_ATTRIBUTE, None)
    if bound is None:
        bound = Scripts(redis)
        setattr(redis, _BOUND_ATTRIBUTE, bound)
    return bound


def id_seed() -> str:
    """A fresh ULID from which a script derives the ids it writes."""
    return native.new_id("seed").removeprefix("seed_")


def key(name: str, *parts: str) -> str:
    return native.redis_key(name, *parts)
