"""Owners, platforms and API keys in Redis.

An owner is a person or company identified by a lower-cased email, or an
anonymous owner made for one platform. A platform key belongs to the platform
it was created under and reaches every platform of that platform's owner.

Raw keys leave this module only inside `NewKey`, once, for the creator to show;
Redis stores HMAC-SHA256 hashes under the server pepper (`native.hash_key`).

NOTE: the scripts and transactions here write global keys (`apikey:<hash>`,
indexes) together with keys tagged `{<platform id>}`. They need a single Redis
server, because a Redis Cluster would reject them as cross-slot.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from control_plane import native
from control_plane.money.settings import mirror_settings
from control_plane.store.times import now_ms

logger = logging.getLogger(__name__)

CHANNEL = native.redis_key("invalidation_channel")

# Every settings field and its value for a new platform; the data plane reads this JSON.
DEFAULT_SETTINGS: dict[str, Any] = {
    "display_name": None,
    "markup_percent": 0,
    "default_budget": None,
    "skills_enabled": False,
    "low_balance_threshold_usd": None,
    "wallet_low_balance_threshold_usd": None,
}

_SLUG_MAX = 40

# Ids from `native.new_id`: a prefix, an underscore and a 26-character ULID in
# lowercase Crockford base32.
_ULID = "[0-9abcdefghjkmnpqrstvwxyz]{26}"

# Resolve an owner by email, creating it when new.
# KEYS: 1 owners_by_email, 2 owner record of the new id.
# ARGV: 1 lower-cased email or "" for an anonymous owner, 2 new owner id, 3 created_at (ms).
# Returns the owner id: the existing one for a known email, else ARGV[2].
_RESOLVE_OWNER = """
if ARGV[1] ~= '' then
  local existing = redis.call('HGET', KEYS[1], ARGV[1])
  if existing then return existing end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'email', ARGV[1], 'created_at', ARGV[3])
return ARGV[2]
"""

# Create a platform with a unique slug and its first key.
# KEYS: 1 platform_slugs, 2 platform record, 3 platforms_index, 4 owner_platforms,
#       5 platform_keys, 6 apikey record of the first key.
# ARGV: 1 platform id, 2 name, 3 owner id, 4 created_at (ms), 5 settings JSON,
#       6 key id, 7 key metadata JSON, 8 invalidation channel, 9 owner message,
#       10.. slug candidates in order of preference.
# Returns the slug taken, or nil when every candidate is taken (nothing written).
_CREATE_PLATFORM = """
local slug = nil
for i = 10, #ARGV do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1]) == 1 then
    slug = ARGV[i]
    break
  end
end
if not slug then return nil end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'name', ARGV[2], 'slug', slug,
  'owner_id', ARGV[3], 'created_at', ARGV[4], 'settings', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[5], ARGV[6], ARGV[7])
redis.call('HSET', KEYS[6], 'kind', 'platform', 'key_id', ARGV[6], 'platform_id', ARGV[1],
  'owner_id', ARGV[3], 'created_at', ARGV[4])
redis.call('PUBLISH', ARGV[8], ARGV[9])
return slug
"""

# Revoke one key of a platform or an end user.
# KEYS: 1 platform_keys or end_user_keys, 2 key_last_used, 3 apikey record.
# ARGV: 1 key id, 2 invalidation channel, 3 message `apikey:<hash>`.
# Returns 1 when the key was revoked, 0 when KEYS[1] has no such key.
_REVOKE_KEY = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""

# Record a key's last use unless a later one is stored or the key is gone.
# KEYS: 1 key_last_used, 2 apikey record.
# ARGV: 1 key id, 2 time of use (Unix ms).
# Returns 1 when written, else 0.
_TOUCH_KEY = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= stored then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


def key_name(name: str, *parts: str) -> str:
    return native.redis_key(name, *parts)


def is_id(value: str, prefix: str) -> bool:
    """Return whether `value` has the shape of an id minted with `prefix`.

    Check ids from requests with this before building key names from them, so
    that a crafted id cannot name another record.
    """
    return re.fullmatch(f"{re.escape(prefix)}_{_ULID}", value) is not None


class KeyMeta(msgspec.Struct, frozen=True):
    """A key's entry in `platform_keys` or `end_user_keys`, stored as JSON."""

    id: str
    name: str | None
    key_prefix: str
    key_hash: str
    created_at: int


class NewKey(msgspec.Struct, frozen=True):
    """A key just minted; `raw_key` is shown to its creator once and never stored."""

    meta: KeyMeta
    raw_key: str


class KeyRecord(msgspec.Struct, frozen=True):
    """The `apikey:<hash>` record that authenticates a request."""

    kind: str
    key_id: str
    platform_id: str
    owner_id: str | None
    end_user_id: str | None
    created_at: int


class ListedKey(msgspec.Struct, frozen=True):
    meta: KeyMeta
    last_used_at: int | None


class Platform(msgspec.Struct, frozen=True):
    id: str
    name: str
    slug: str
    owner_id: str
    created_at: int
    settings: dict[str, Any]


class Owner(msgspec.Struct, frozen=True):
    id: str
    email: str | None


class PlatformNotFound(Exception):
    """No platform has the given id."""


def mint_key(kind: str, pepper: str, name: str | None) -> NewKey:
    """Generate a raw key of `kind` (`platform` or `end_user`) and its stored metadata."""
    raw = native.generate_key(kind)
    key_id = native.new_id("key")
    # The id embeds its creation time; reading the clock again could disagree by a tick.
    created_at = native.id_millis(key_id)
    assert created_at is not None, "new_id returned an id without a timestamp"
    meta = KeyMeta(
        id=key_id,
        name=name,
        key_prefix=native.key_prefix(raw),
        key_hash=native.hash_key(pepper, raw),
        created_at=created_at,
    )
    return NewKey(meta=meta, raw_key=raw)


def slug_candidates(name: str) -> list[str]:
    """Slugs to try for a platform named `name`, the plain one first."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:_SLUG_MAX].strip("-")
    base = base or "platform"
    numbered = [f"{base}-{n}" for n in range(2, 10)]
    return [base, *numbered, f"{base}-{secrets.token_hex(4)}"]


def _decode_meta(raw: str) -> KeyMeta:
    return msgspec.json.decode(raw, type=KeyMeta)


def _platform_from(fields: dict[str, str]) -> Platform:
    settings = {**DEFAULT_SETTINGS, **msgspec.json.decode(fields.get("settings") or "{}")}
    return Platform(
        id=fields["id"],
        name=fields["name"],
        slug=fields["slug"],
        owner_id=fields["owner_id"],
        created_at=int(fields["created_at"]),
        settings=settings,
    )


class TenancyStore:
    """Owners, platforms and keys of one Redis database."""

    def __init__(self, redis: aioredis.Redis, pepper: str) -> None:
        self.redis = redis
        self.pepper = pepper
        self._resolve_owner = redis.register_script(_RESOLVE_OWNER)
        self._create_platform = redis.register_script(_CREATE_PLATFORM)
        self._revoke_key = redis.register_script(_REVOKE_KEY)
        self._touch_key = redis.register_script(_TOUCH_KEY)

    # Owners and platforms

    async def resolve_owner(self, email: str | None) -> str:
        """Return the owner id of `email` (created when new), or a fresh anonymous owner.

        Emails are compared lower-cased.
        """
        new_id = native.new_id("own")
        keys = [key_name("owners_by_email"), key_name("owner", new_id)]
        normalized = (email or "").strip().lower()
        owner_id = await self._resolve_owner(keys=keys, args=[normalized, new_id, now_ms()])
        return str(owner_id)

    async def find_owner(self, email: str) -> str | None:
        return await self.redis.hget(key_name("owners_by_email"), email.strip().lower())

    async def owner_emails(self, owner_ids: set[str]) -> dict[str, str | None]:
        ordered = sorted(owner_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for owner_id in ordered:
                pipe.hget(key_name("owner", owner_id), "email")
            emails = await pipe.execute()
        return {owner_id: email or None for owner_id, email in zip(ordered, emails, strict=True)}

    async def create_platform(self, name: str, owner_email: str | None) -> tuple[Platform, NewKey]:
        """Create a platform for the owner of `owner_email` (or a new owner) and its first key."""
        owner_id = await self.resolve_owner(owner_email)
        platform_id = native.new_id("plat")
        first_key = mint_key("platform", self.pepper, "default")
        created_at = first_key.meta.created_at
        settings = msgspec.json.encode(DEFAULT_SETTINGS).decode()

        keys = [
            key_name("platform_slugs"),
            key_name("platform", platform_id),
            key_name("platforms_index"),
            key_name("owner_platforms", owner_id),
            key_name("platform_keys", platform_id),
            key_name("api_key", first_key.meta.key_hash),
        ]
        args = [
            platform_id,
            name,
            owner_id,
            created_at,
            settings,
            first_key.meta.id,
            msgspec.json.encode(first_key.meta),
            CHANNEL,
            f"owner:{owner_id}",
            *slug_candidates(name),
        ]
        slug = await self._create_platform(keys=keys, args=args)
        if slug is None:
            raise RuntimeError(f"every slug candidate for platform name {name!r} is taken")
        logger.info("platform %s created for owner %s", platform_id, owner_id)

        platform = Platform(
            id=platform_id,
            name=name,
            slug=str(slug),
            owner_id=owner_id,
            created_at=created_at,
            settings=dict(DEFAULT_SETTINGS),
        )
        return platform, first_key

    async def get_platform(self, platform_id: str) -> Platform | None:
        fields = await self.redis.hgetall(key_name("platform", platform_id))
        return _platform_from(fields) if fields else None

    async def list_platforms(self, owner_id: str | None = None) -> list[Platform]:
        """List every platform, or those of `owner_id`, oldest first."""
        index = key_name("owner_platforms", owner_id) if owner_id else key_name("platforms_index")
        ids = sorted(await self.redis.smembers(index))
        async with self.redis.pipeline(transaction=False) as pipe:
            for platform_id in ids:
                pipe.hgetall(key_name("platform", platform_id))
            records = await pipe.execute()
        return [_platform_from(fields) for fields in records if fields]

    async def owner_platform_ids(self, owner_id: str) -> frozenset[str]:
        return frozenset(await self.redis.smembers(key_name("owner_platforms", owner_id)))

    async def update_settings(self, platform_id: str, changes: dict[str, Any]) -> Platform:
        """Merge `changes` into the platform's settings and publish `platform:<id>`.

        Raises PlatformNotFound. Concurrent updates of different fields all
        apply, because the merge retries when the record changed under it.
        """
        record = key_name("platform", platform_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(record)
                    fields = await pipe.hgetall(record)
                    if not fields:
                        raise PlatformNotFound(platform_id)
                    platform = _platform_from(fields)
                    settings = {**platform.settings, **changes}
                    pipe.multi()
                    pipe.hset(record, "settings", msgspec.json.encode(settings).decode())
                    mirror_settings(pipe, platform_id, settings)
                    pipe.publish(CHANNEL, f"platform:{platform_id}")
                    await pipe.execute()
                except WatchError:
                    continue
                logger.info("settings of platform %s updated: %s", platform_id, sorted(changes))
                return msgspec.structs.replace(platform, settings=settings)

    # Keys

    async def create_platform_key(self, platform_id: str, name: str | None) -> NewKey:
        """Mint a platform key under `platform_id`; raises PlatformNotFound."""
        platform = await self.get_platform(platform_id)
        if platform is None:
            raise PlatformNotFound(platform_id)
        new = mint_key("platform", self.pepper, name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key_name("platform_keys", platform_id), new.meta.id, msgspec.json.encode(new.meta)
            )
            pipe.hset(
                key_name("api_key", new.meta.key_hash),
                mapping={
                    "kind": "platform",
                    "key_id": new.meta.id,
                    "platform_id": platform_id,
                    "owner_id": platform.owner_id,
                    "created_at": new.meta.created_at,
                },
            )
            await pipe.execute()
        logger.info("platform key %s created on platform %s", new.meta.id, platform_id)
        return new

    async def list_keys(self, keys_hash: str, platform_id: str) -> list[ListedKey]:
        """Keys stored in `keys_hash` with their last use from the platform's `key_last_used`."""
        entries = await self.redis.hgetall(keys_hash)
        metas = [_decode_meta(raw) for raw in entries.values()]
        if not metas:
            return []
        last_used = await self.redis.hmget(
            key_name("key_last_used", platform_id), [meta.id for meta in metas]
        )
        return [
            ListedKey(meta=meta, last_used_at=int(used) if used else None)
            for meta, used in zip(metas, last_used, strict=True)
        ]

    async def list_platform_keys(self, platform_id: str) -> list[ListedKey]:
        return await self.list_keys(key_name("platform_keys", platform_id), platform_id)

    async def key_meta(self, keys_hash: str, key_id: str) -> KeyMeta | None:
        raw = await self.redis.hget(keys_hash, key_id)
        return _decode_meta(raw) if raw else None

    async def platform_key_meta(self, platform_id: str, key_id: str) -> KeyMeta | None:
        return await self.key_meta(key_name("platform_keys", platform_id), key_id)

    async def revoke_key(self, keys_hash: str, platform_id: str, key_id: str) -> KeyMeta | None:
        """Revoke a key listed in `keys_hash`; None when it is not listed there."""
        meta = await self.key_meta(keys_hash, key_id)
        if meta is None:
            return None
        keys = [
            keys_hash,
            key_name("key_last_used", platform_id),
            key_name("api_key", meta.key_hash),
        ]
        revoked = await self._revoke_key(
            keys=keys, args=[key_id, CHANNEL, f"apikey:{meta.key_hash}"]
        )
        if not revoked:
            return None
        logger.info("key %s of platform %s revoked", key_id, platform_id)
        return meta

    async def revoke_platform_key(self, platform_id: str, key_id: str) -> KeyMeta | None:
        return await self.revoke_key(key_name("platform_keys", platform_id), platform_id, key_id)

    async def find_key(self, key_hash: str) -> KeyRecord | None:
        """Find the record of the key whose hash is `key_hash`; None if unknown or revoked."""
        fields = await self.redis.hgetall(key_name("api_key", key_hash))
        if not fields:
            return None
        return KeyRecord(
            kind=fields["kind"],
            key_id=fields["key_id"],
            platform_id=fields["platform_id"],
            owner_id=fields.get("owner_id") or None,
            end_user_id=fields.get("end_user_id") or None,
            created_at=int(fields.get("created_at") or 0),
        )

    async def touch_key(self, record: KeyRecord, key_hash: str, used_at: int) -> None:
        keys = [key_name("key_last_used", record.platform_id), key_name("api_key", key_hash)]
        await self._touch_key(keys=keys, args=[record.key_id, used_at])
