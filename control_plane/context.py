"""Per-worker resources shared by every request handler."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from control_plane import native
from control_plane.settings import Settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    redis: aioredis.Redis
    keyring: native.Keyring

    @classmethod
    def create(cls, settings: Settings) -> AppContext:
        if not settings.redis_url or not settings.master_key:
            raise ValueError("settings lack redis_url or master_key; start with `serve`")
        client = aioredis.Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
        keyring = native.Keyring(settings.master_key, list(settings.retired_master_keys))
        return cls(settings=settings, redis=client, keyring=keyring)

    async def close(self) -> None:
        await self.redis.aclose()
