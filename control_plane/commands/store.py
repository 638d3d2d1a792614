"""Redis access for operator commands.

With `ASSISTIV_REDIS_URL` set, commands use that server. Without it they use
the embedded store of the data directory: the running gateway's server when
one holds the directory, else a temporary server on the same files, stopped
when the command ends.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import redis

from control_plane import datadir
from control_plane.embedded_redis import EmbeddedRedis, RedisStartError
from control_plane.settings import Settings


class StoreUnavailable(Exception):
    """The state store could not be reached; the message says why."""


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=5, socket_connect_timeout=2
    )


def _check(client: redis.Redis, where: str) -> None:
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"Redis at {where} is unreachable: {exc}") from None


@contextlib.contextmanager
def open_store(settings: Settings) -> Iterator[tuple[Settings, redis.Redis]]:
    """Yield the settings (secrets filled in) and a Redis client for one command."""
    data_dir = datadir.ensure(settings)
    settings = datadir.with_secrets(settings, data_dir)
    if settings.redis_url:
        client = _client(settings.redis_url)
        _check(client, "ASSISTIV_REDIS_URL")
        with contextlib.closing(client):
            yield settings, client
        return

    try:
        lock = datadir.lock(data_dir)
    except datadir.DataDirLocked:
        url = (data_dir / datadir.REDIS_URL_FILE).read_text().strip()
        client = _client(url)
        _check(client, f"{url} (the running gateway's store)")
        with contextlib.closing(client):
            yield msgspec.structs.replace(settings, redis_url=url), client
        return

    with lock, tempfile.TemporaryDirectory(prefix="assistiv-cli-") as runtime:
        store = EmbeddedRedis(data_dir / "redis", socket_path=Path(runtime) / "redis.sock")
        try:
            store.start()
        except RedisStartError as exc:
            raise StoreUnavailable(str(exc)) from None
        try:
            client = _client(store.url)
            with contextlib.closing(client):
                yield msgspec.structs.replace(settings, redis_url=store.url), client
        finally:
            store.stop()
