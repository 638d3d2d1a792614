"""Per-worker caches of key records, kept fresh by Redis pub/sub.

Each entry is stored under the name of the invalidation message that drops it
(`apikey:<hash>`, `owner:<owner id>`), and lives at most `ttl` seconds. The
cache serves entries only while the listener is subscribed: when the
subscription drops, the cache empties itself and every lookup reads Redis
until the listener has subscribed again, so a missed message cannot keep a
revoked key alive.

`LastUsed` coalesces `last_used_at` writes: a worker writes a key's last use at
most once per `LAST_USED_INTERVAL` seconds, so the stored value lags the true
last use by up to that interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from control_plane.store.tenancy import CHANNEL

logger = logging.getLogger(__name__)

LAST_USED_INTERVAL = 60.0
_RECONNECT_DELAY_MAX = 5.0


class InvalidationCache:
    """Entries keyed by invalidation message, served only while subscribed."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}
        self._generation = 0
        self._live = False
        # Events for code that waits on the listener, such as tests.
        self.subscribed = asyncio.Event()
        self.unsubscribed = asyncio.Event()
        self.invalidated = asyncio.Event()

    @property
    def live(self) -> bool:
        return self._live

    @property
    def generation(self) -> int:
        """A counter that moves on every invalidation; pass it back to `put`."""
        return self._generation

    def get(self, name: str) -> Any | None:
        if not self._live:
            return None
        entry = self._entries.get(name)
        if entry is None:
            return None
        expires, value = entry
        if time.monotonic() >= expires:
            del self._entries[name]
            return None
        return value

    def put(self, name: str, value: Any, generation: int) -> None:
        """Store `value` unless an invalidation arrived since `generation` was read.

        A lookup that read Redis before a revocation and finishes after its
        message would otherwise cache the revoked record.
        """
        if self._live and generation == self._generation:
            self._entries[name] = (time.monotonic() + self.ttl, value)

    def invalidate(self, name: str) -> None:
        self._generation += 1
        self._entries.pop(name, None)
        self.invalidated.set()

    def go_live(self) -> None:
        self._live = True
        self.unsubscribed.clear()
        self.subscribed.set()

    def go_offline(self) -> None:
        self._live = False
        self.subscribed.clear()
        self.unsubscribed.set()
        self._generation += 1
        self._entries.clear()


async def listen(cache: InvalidationCache, redis_url: str) -> None:
    """Apply invalidation messages to `cache` until cancelled, reconnecting on errors."""
    delay = 0.1
    while True:
        client = aioredis.Redis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, health_check_interval=10
        )
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    cache.go_live()
                    delay = 0.1
                    logger.debug("subscribed to %s", CHANNEL)
                elif message["type"] == "message":
                    cache.invalidate(message["data"])
        except (RedisError, OSError) as exc:
            cache.go_offline()
            logger.warning(
                "invalidation subscription lost (%s); reading keys from Redis, retrying in %.1f s",
                exc,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_DELAY_MAX)
        finally:
            cache.go_offline()
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()


@contextlib.asynccontextmanager
async def listening(cache: InvalidationCache, redis_url: str) -> AsyncIterator[None]:
    """Run `listen` in the background for the duration of the block."""
    task = asyncio.create_task(listen(cache, redis_url), name="key-invalidation-listener")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class LastUsed:
    """Decides when a key's last use is due to be written."""

    def __init__(self, interval: float = LAST_USED_INTERVAL) -> None:
        self.interval = interval
        self._written: dict[str, float] = {}

    def due(self, key_id: str) -> bool:
        """Whether to write now; True at most once per interval for each key."""
        now = time.monotonic()
        last = self._written.get(key_id)
        if last is not None and now - last < self.interval:
            return False
        if len(self._written) > 10_000:
            self._forget_before(now - self.interval)
        self._written[key_id] = now
        return True

    def _forget_before(self, moment: float) -> None:
        self._written = {key: at for key, at in self._written.items() if at >= moment}
