"""End users of a platform and their keys in Redis.

An end user is created once per `external_id`: the create script claims the
external id with HSETNX, so concurrent creates with one external id make one
end user, and each of them still mints its own key. Deleting an end user
removes every key in `END_USER_CASCADE`, all its API keys, and publishes an
invalidation for each key so that caches drop them at once.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from control_plane import native
from control_plane.store.tenancy import (
    CHANNEL,
    KeyMeta,
    ListedKey,
    NewKey,
    TenancyStore,
    key_name,
    mint_key,
)

logger = logging.getLogger(__name__)

# Layout names of every per-end-user key, each taking (platform id, end user id).
# A feature that stores state per end user (budget, rate-limit override, tool
# connections) adds its layout name here, and deleting the end user removes it.
END_USER_CASCADE: tuple[str, ...] = (
    "end_user",
    "end_user_keys",
    "budget",
    "budget_holds",
    "budget_ledger",
    "end_user_rate_limits",
    "rate_buckets",
)

# Attempts of create and delete when a concurrent delete or mint gets in between.
_ATTEMPTS = 8

# Create an end user for an external id and mint its first key, unless the
# external id already has an end user.
# KEYS: 1 end_users_by_external_id, 2 end-user record, 3 end_users_index,
#       4 end_user_keys, 5 apikey record.
# ARGV: 1 external id, 2 end user id, 3 created_at (ms), 4 "1" when a display name
#       is given, 5 display name, 6 metadata JSON, 7 key id, 8 key metadata JSON,
#       9 platform id.
# Returns {1, ARGV[2]} when created, {0, existing end user id} otherwise.
_CREATE_END_USER = """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'external_id', ARGV[1], 'metadata', ARGV[6],
  'created_at', ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'display_name', ARGV[5]) end
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('HSET', KEYS[4], ARGV[7], ARGV[8])
redis.call('HSET', KEYS[5], 'kind', 'end_user', 'key_id', ARGV[7], 'platform_id', ARGV[9],
  'end_user_id', ARGV[2], 'created_at', ARGV[3])
return {1, ARGV[2]}
"""

# Mint a key for an existing end user.
# KEYS: 1 end-user record, 2 end_user_keys, 3 apikey record.
# ARGV: 1 key id, 2 key metadata JSON, 3 platform id, 4 end user id, 5 created_at (ms).
# Returns 1 when minted, 0 when the end user does not exist (nothing written).
_MINT_KEY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'kind', 'end_user', 'key_id', ARGV[1], 'platform_id', ARGV[3],
  'end_user_id', ARGV[4], 'created_at', ARGV[5])
return 1
"""

# Change the display name and metadata of an existing end user.
# KEYS: 1 end-user record.
# ARGV: 1 display name action ("keep", "set" or "clear"), 2 display name,
#       3 "1" to replace metadata, 4 metadata JSON.
# Returns the record as a flat field/value list, or an empty list when absent.
_UPDATE_END_USER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[1] == 'set' then redis.call('HSET', KEYS[1], 'display_name', ARGV[2]) end
if ARGV[1] == 'clear' then redis.call('HDEL', KEYS[1], 'display_name') end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'metadata', ARGV[4]) end
return redis.call('HGETALL', KEYS[1])
"""


class EndUser(msgspec.Struct, frozen=True):
    id: str
    external_id: str
    display_name: str | None
    metadata: dict[str, Any]
    created_at: int


class EndUserGone(Exception):
    """The end user was deleted while a key was being minted for it."""


def _end_user_from(fields: dict[str, str]) -> EndUser:
    return EndUser(
        id=fields["id"],
        external_id=fields["external_id"],
        display_name=fields.get("display_name"),
        metadata=msgspec.json.decode(fields.get("metadata") or "{}"),
        created_at=int(fields["created_at"]),
    )


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


class EndUserStore:
    """End users of one platform."""

    def __init__(self, redis: aioredis.Redis, pepper: str, platform_id: str) -> None:
        self.redis = redis
        self.pepper = pepper
        self.platform_id = platform_id
        self.keys_store = TenancyStore(redis, pepper)
        self._create = redis.register_script(_CREATE_END_USER)
        self._mint = redis.register_script(_MINT_KEY)
        self._update = redis.register_script(_UPDATE_END_USER)

    def _key(self, name: str, *parts: str) -> str:
        return key_name(name, self.platform_id, *parts)

    async def create(
        self, external_id: str, display_name: str | None, metadata: dict[str, Any]
    ) -> tuple[EndUser, bool, NewKey]:
        """Create the end user of `external_id`, or find it, and mint a key for it.

        Returns the end user, whether it was created, and the new key. A repeated
        create returns the stored end user unchanged, whatever display name and
        metadata it carries.
        """
        for _ in range(_ATTEMPTS):
            new_id = native.new_id("eu")
            key = mint_key("end_user", self.pepper, None)
            keys = [
                self._key("end_users_by_external_id"),
                self._key("end_user", new_id),
                self._key("end_users_index"),
                self._key("end_user_keys", new_id),
                key_name("api_key", key.meta.key_hash),
            ]
            args = [
                external_id,
                new_id,
                key.meta.created_at,
                "1" if display_name is not None else "0",
                display_name or "",
                msgspec.json.encode(metadata),
                key.meta.id,
                msgspec.json.encode(key.meta),
                self.platform_id,
            ]
            created, end_user_id = await self._create(keys=keys, args=args)
            if created:
                logger.info("end user %s created on platform %s", new_id, self.platform_id)
                end_user = EndUser(
                    id=new_id,
                    external_id=external_id,
                    display_name=display_name,
                    metadata=metadata,
                    created_at=key.meta.created_at,
                )
                return end_user, True, key
            try:
                minted = await self.mint_key(str(end_user_id), None)
            except EndUserGone:
                continue
            found = await self.get(str(end_user_id))
            if found is not None:
                return found, False, minted
        raise RuntimeError(f"end user creation kept racing with deletes on {self.platform_id}")

    async def mint_key(self, end_user_id: str, name: str | None) -> NewKey:
        """Mint another key for an end user; raises EndUserGone when it does not exist."""
        key = mint_key("end_user", self.pepper, name)
        keys = [
            self._key("end_user", end_user_id),
            self._key("end_user_keys", end_user_id),
            key_name("api_key", key.meta.key_hash),
        ]
        args = [
            key.meta.id,
            msgspec.json.encode(key.meta),
            self.platform_id,
            end_user_id,
            key.meta.created_at,
        ]
        if not await self._mint(keys=keys, args=args):
            raise EndUserGone(end_user_id)
        logger.info("key %s minted for end user %s", key.meta.id, end_user_id)
        return key

    async def get(self, end_user_id: str) -> EndUser | None:
        fields = await self.redis.hgetall(self._key("end_user", end_user_id))
        return _end_user_from(fields) if fields else None

    async def list(self, limit: int, after: str | None) -> tuple[list[EndUser], str | None]:
        """Up to `limit` end users with ids after `after`, oldest first, and the next cursor.

        The cursor is None on the last page. A record deleted between reading
        the index and the records is left out of the page.
        """
        while True:
            start = f"({after}" if after else "-"
            ids = await self.redis.zrangebylex(
                self._key("end_users_index"), start, "+", start=0, num=limit + 1
            )
            page_ids = ids[:limit]
            async with self.redis.pipeline(transaction=False) as pipe:
                for end_user_id in page_ids:
                    pipe.hgetall(self._key("end_user", end_user_id))
                records = await pipe.execute()
            end_users = [_end_user_from(fields) for fields in records if fields]
            next_cursor = page_ids[-1] if len(ids) > limit else None
            if end_users or next_cursor is None:
                return end_users, next_cursor
            after = next_cursor

    async def update(
        self,
        end_user_id: str,
        display_name: str | msgspec.UnsetType | None,
        metadata: dict[str, Any] | msgspec.UnsetType,
    ) -> EndUser | None:
        """Apply the given fields (UNSET keeps a field); None when the end user does not exist."""
        if display_name is msgspec.UNSET:
            action, name = "keep", ""
        elif display_name is None:
            action, name = "clear", ""
        else:
            action, name = "set", display_name
        replace = metadata is not msgspec.UNSET
        encoded = msgspec.json.encode(metadata) if replace else b""
        flat = await self._update(
            keys=[self._key("end_user", end_user_id)],
            args=[action, name, "1" if replace else "0", encoded],
        )
        return _end_user_from(_pairs(flat)) if flat else None

    async def delete(self, end_user_id: str) -> list[KeyMeta] | None:
        """Delete an end user, its keys and its per-end-user state.

        Returns the deleted keys, or None when the end user does not exist.
        """
        record = self._key("end_user", end_user_id)
        keys_hash = self._key("end_user_keys", end_user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(_ATTEMPTS):
                try:
                    await pipe.watch(record, keys_hash)
                    external_id = await pipe.hget(record, "external_id")
                    if external_id is None:
                        await pipe.reset()
                        return None
                    metas = [
                        msgspec.json.decode(raw, type=KeyMeta)
                        for raw in (await pipe.hvals(keys_hash))
                    ]
                    pipe.multi()
                    self._queue_delete(pipe, end_user_id, external_id, metas)
                    await pipe.execute()
                except WatchError:
                    continue
                logger.info(
                    "end user %s of platform %s deleted with %d key(s)",
                    end_user_id,
                    self.platform_id,
                    len(metas),
                )
                return metas
        raise RuntimeError(f"deleting end user {end_user_id} kept racing with key mints")

    def _queue_delete(
        self, pipe: Any, end_user_id: str, external_id: str, metas: list[KeyMeta]
    ) -> None:
        for name in END_USER_CASCADE:
            pipe.delete(self._key(name, end_user_id))
        pipe.hdel(self._key("end_users_by_external_id"), external_id)
        pipe.zrem(self._key("end_users_index"), end_user_id)
        if metas:
            pipe.hdel(self._key("key_last_used"), *[meta.id for meta in metas])
        for meta in metas:
            pipe.delete(key_name("api_key", meta.key_hash))
            pipe.publish(CHANNEL, f"apikey:{meta.key_hash}")
        pipe.publish(CHANNEL, f"end_user:{self.platform_id}:{end_user_id}")

    async def list_keys(self, end_user_id: str) -> list[ListedKey]:
        return await self.keys_store.list_keys(
            self._key("end_user_keys", end_user_id), self.platform_id
        )

    async def key_meta(self, end_user_id: str, key_id: str) -> KeyMeta | None:
        return await self.keys_store.key_meta(self._key("end_user_keys", end_user_id), key_id)

    async def revoke_key(self, end_user_id: str, key_id: str) -> KeyMeta | None:
        return await self.keys_store.revoke_key(
            self._key("end_user_keys", end_user_id), self.platform_id, key_id
        )
