"""Authentication and tenant scope of the management API, as Litestar dependencies.

Every request sends `Authorization: Bearer <key>`. The `caller` dependency
hashes the key with `native.hash_key`, finds its record, and resolves the
platforms the key reaches: a platform key reaches every platform of its
platform's owner, an end-user key only its own platform. Failures:

- 401 `invalid_api_key`: the header is missing or malformed, or the key is
  unknown or revoked (unknown and revoked read the same).
- 403 `platform_key_required`: an end-user key on a management route.
- 404 `not_found`: a path naming a platform the key does not reach, so that
  other tenants' platforms cannot be distinguished from absent ones.
- 400 `platform_id_required` / 403 `platform_forbidden`: the header
  `X-Assistiv-Platform-Id` of routes without a platform in the path is
  missing while the key reaches several platforms, or names one it does not.

Resources with `{platform_id}` in their path take the `tenant` dependency
(`PLATFORM_DEPENDENCIES`); routes without it call `header_platform`. Key
records are cached per worker and dropped by pub/sub invalidation (see
`store.keycache`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from redis.exceptions import RedisError

from control_plane import native
from control_plane.context import AppContext
from control_plane.errors import ApiError, NotFound
from control_plane.store.keycache import InvalidationCache, LastUsed, listening
from control_plane.store.tenancy import KeyRecord, TenancyStore
from control_plane.store.times import now_ms

logger = logging.getLogger(__name__)

PLATFORM_HEADER = "X-Assistiv-Platform-Id"
_STATE_KEY = "authenticator"
_SHOWN_ID_MAX = 64
_SUBSCRIBE_WAIT = 5.0


@dataclass(frozen=True)
class Caller:
    """The key that authenticated a request and what it reaches."""

    kind: str  # "platform" or "end_user"
    key_id: str
    key_platform_id: str  # the platform the key was created under
    owner_id: str | None
    end_user_id: str | None
    platform_ids: frozenset[str]

    @property
    def is_platform_key(self) -> bool:
        return self.kind == "platform"


@dataclass(frozen=True)
class Tenant:
    """A platform key's request on one platform it reaches."""

    platform_id: str
    caller: Caller


class Authenticator:
    """Per-worker key cache and `last_used_at` coalescing."""

    def __init__(self, cache_ttl: float) -> None:
        self.cache = InvalidationCache(cache_ttl)
        self.last_used = LastUsed()

    async def key_record(self, store: TenancyStore, key_hash: str) -> KeyRecord | None:
        name = f"apikey:{key_hash}"
        cached = self.cache.get(name)
        if cached is not None:
            return cached
        generation = self.cache.generation
        record = await store.find_key(key_hash)
        if record is not None:
            self.cache.put(name, record, generation)
        return record

    async def owner_platforms(
        self, store: TenancyStore, owner_id: str, *, fresh: bool = False
    ) -> frozenset[str]:
        name = f"owner:{owner_id}"
        cached = None if fresh else self.cache.get(name)
        if cached is not None:
            return cached
        generation = self.cache.generation
        platform_ids = await store.owner_platform_ids(owner_id)
        self.cache.put(name, platform_ids, generation)
        return platform_ids

    async def touch(self, store: TenancyStore, record: KeyRecord, key_hash: str) -> None:
        if not self.last_used.due(record.key_id):
            return
        try:
            await store.touch_key(record, key_hash, now_ms())
        except RedisError as exc:
            logger.warning("could not record last use of key %s: %s", record.key_id, exc)


def _authenticator(request: Request[Any, Any, Any], ctx: AppContext) -> Authenticator:
    state = request.app.state
    found = state.get(_STATE_KEY)
    if found is None:
        # Without the lifespan the cache never goes live, so every lookup reads Redis.
        found = Authenticator(ctx.settings.key_cache_ttl_ms / 1000)
        state[_STATE_KEY] = found
    return found


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start this worker's key cache and its invalidation listener.

    The worker starts serving once the listener has subscribed, or after
    `_SUBSCRIBE_WAIT` seconds without it; until then lookups read Redis.
    """
    ctx: AppContext = app.state["context"]
    authenticator = Authenticator(ctx.settings.key_cache_ttl_ms / 1000)
    app.state[_STATE_KEY] = authenticator
    async with listening(authenticator.cache, str(ctx.settings.redis_url)):
        try:
            await asyncio.wait_for(authenticator.cache.subscribed.wait(), _SUBSCRIBE_WAIT)
        except TimeoutError:
            logger.warning(
                "no invalidation subscription after %.0f s; serving with the key cache off",
                _SUBSCRIBE_WAIT,
            )
        yield


def forget_keys(request: Request[Any, Any, Any], key_hashes: Iterable[str]) -> None:
    """Drop revoked keys from this worker's cache at once.

    Other workers and instances drop them when the published invalidation
    arrives. The worker that revoked them drops them here, so that its next
    request cannot race the message.
    """
    authenticator = request.app.state.get(_STATE_KEY)
    if authenticator is not None:
        for key_hash in key_hashes:
            authenticator.cache.invalidate(f"apikey:{key_hash}")


def tenancy_store(ctx: AppContext) -> TenancyStore:
    return TenancyStore(ctx.redis, str(ctx.settings.key_pepper))


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_ID_MAX else value[:_SHOWN_ID_MAX] + "…"


def _bearer_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(
            "invalid_api_key", "missing API key; send it as `Authorization: Bearer <key>`"
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError("invalid_api_key", "malformed Authorization header; expected `Bearer <key>`")
    return token


async def authenticate(request: Request[Any, Any, Any], ctx: AppContext) -> Caller:
    """Identify the request's key; raises 401 `invalid_api_key`."""
    token = _bearer_token(request)
    kind = native.parse_key_kind(token)
    if kind is None:
        raise ApiError("invalid_api_key", "malformed API key; keys start with sk-plat_ or sk-eu_")
    store = tenancy_store(ctx)
    authenticator = _authenticator(request, ctx)
    key_hash = native.hash_key(store.pepper, token)
    record = await authenticator.key_record(store, key_hash)
    if record is None or record.kind != kind:
        raise ApiError("invalid_api_key", "invalid API key: it does not exist or was revoked")

    if record.kind == "platform" and record.owner_id:
        platform_ids = await authenticator.owner_platforms(store, record.owner_id)
    else:
        platform_ids = frozenset({record.platform_id})
    await authenticator.touch(store, record, key_hash)
    return Caller(
        kind=record.kind,
        key_id=record.key_id,
        key_platform_id=record.platform_id,
        owner_id=record.owner_id,
        end_user_id=record.end_user_id,
        platform_ids=platform_ids,
    )


def require_platform_key(caller: Caller) -> None:
    if not caller.is_platform_key:
        raise ApiError(
            "platform_key_required",
            "this route manages the platform and needs a platform key (sk-plat_…), "
            "not an end-user key",
        )


async def reaches(
    request: Request[Any, Any, Any], ctx: AppContext, caller: Caller, platform_id: str
) -> bool:
    """Return whether the caller's key reaches `platform_id`.

    The cached platform set of an owner can only lack platforms created in the
    last moments (platforms are never removed), so a miss is checked again
    against Redis before the platform is declared out of reach.
    """
    if platform_id in caller.platform_ids:
        return True
    if not caller.is_platform_key or not caller.owner_id:
        return False
    authenticator = _authenticator(request, ctx)
    current = await authenticator.owner_platforms(tenancy_store(ctx), caller.owner_id, fresh=True)
    return platform_id in current


async def path_tenant(
    request: Request[Any, Any, Any], ctx: AppContext, caller: Caller, platform_id: str
) -> Tenant:
    """Scope a request to the platform in its path; raises 403 or 404."""
    require_platform_key(caller)
    if not await reaches(request, ctx, caller, platform_id):
        raise NotFound(f"platform {_shown(platform_id)} not found")
    return Tenant(platform_id=platform_id, caller=caller)


async def header_platform(request: Request[Any, Any, Any], ctx: AppContext, caller: Caller) -> str:
    """Resolve the platform of a route without one in its path, from the header or the key.

    Raises 403 `platform_forbidden` for a header naming a platform the key does
    not reach, and 400 `platform_id_required` when the header is missing and
    the key reaches several platforms.
    """
    named = request.headers.get(PLATFORM_HEADER)
    if named is not None:
        named = named.strip()
        if not await reaches(request, ctx, caller, named):
            raise ApiError(
                "platform_forbidden",
                f"this key cannot reach platform {_shown(named)}",
                param=PLATFORM_HEADER,
            )
        return named
    if len(caller.platform_ids) == 1:
        return next(iter(caller.platform_ids))
    if not caller.platform_ids:
        raise ApiError("platform_forbidden", "this key reaches no platform")
    reachable = ", ".join(sorted(caller.platform_ids))
    raise ApiError(
        "platform_id_required",
        f"this key reaches several platforms ({reachable}); "
        f"name one in the {PLATFORM_HEADER} header",
        param=PLATFORM_HEADER,
    )


# Dependencies of every route under /v1/platforms/{platform_id}.
PLATFORM_DEPENDENCIES = {
    "caller": Provide(authenticate),
    "tenant": Provide(path_tenant),
}
