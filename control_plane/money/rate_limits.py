"""Rate limits in Redis: platform defaults and per-end-user overrides.

Both are hashes with the fields `requests_per_minute`, `tokens_per_minute` and
`requests_per_day`. The admission script reads them on every call, so a change
applies from the next request. In the defaults an absent field is unlimited;
in an override an absent field follows the default and `none` is unlimited.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from control_plane.money.scripts import key

FIELDS = ("requests_per_minute", "tokens_per_minute", "requests_per_day")
UNLIMITED = "none"

Limits = dict[str, int | None]


def _parse(value: str | None) -> int | None:
    if value is None or value == UNLIMITED:
        return None
    return int(value)


class RateLimitStore:
    def __init__(self, redis: aioredis.Redis, platform_id: str) -> None:
        self.redis = redis
        self.platform_id = platform_id

    async def defaults(self) -> Limits:
        stored = await self.redis.hgetall(key("rate_limits", self.platform_id))
        return {field: _parse(stored.get(field)) for field in FIELDS}

    async def set_defaults(self, limits: Limits) -> None:
        """Replace the defaults; None is unlimited."""
        name = key("rate_limits", self.platform_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            values = {field: value for field, value in limits.items() if value is not None}
            if values:
                pipe.hset(name, mapping=values)
            await pipe.execute()

    async def override(self, end_user_id: str) -> dict[str, str]:
        """The raw override fields: a number or `none`, absent when not overridden."""
        return await self.redis.hgetall(key("end_user_rate_limits", self.platform_id, end_user_id))

    async def set_override(self, end_user_id: str, limits: Limits) -> None:
        """Replace the override with the fields of `limits`; None is unlimited."""
        name = key("end_user_rate_limits", self.platform_id, end_user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            values = {
                field: UNLIMITED if value is None else value for field, value in limits.items()
            }
            if values:
                pipe.hset(name, mapping=values)
            await pipe.execute()

    async def clear_override(self, end_user_id: str) -> None:
        await self.redis.delete(key("end_user_rate_limits", self.platform_id, end_user_id))
