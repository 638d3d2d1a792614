"""Authentication: bearer keys, their format, how they are stored, and last use."""

from __future__ import annotations

import re

import pytest
import redis

from control_plane import native
from control_plane.store.times import iso_ms
from tests.fixtures.tenancy import Api, EndUser, Tenant, assert_error

UNKNOWN_OR_REVOKED = "invalid API key: it does not exist or was revoked"


def test_missing_authorization_401(api: Api, tenant: Tenant) -> None:
    error = assert_error(api.get(tenant.base), 401, "invalid_api_key")
    assert error["type"] == "authentication_error"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer:sk-plat_0123456789012345678901234567890123456789012",
        "sk-plat_0123456789012345678901234567890123456789012",
        "Token sk-plat_0123456789012345678901234567890123456789012",
    ],
)
def test_malformed_authorization_401(api: Api, tenant: Tenant, header: str) -> None:
    response = api.get(tenant.base, headers={"Authorization": header})
    error = assert_error(response, 401, "invalid_api_key")
    assert error["message"] == "malformed Authorization header; expected `Bearer <key>`"


@pytest.mark.parametrize(
    "token",
    [
        "sk-plat_short",
        "sk-other_0123456789012345678901234567890123456789012",
        "sk-plat_012345678901234567890123456789012345678901!",
        "sk-eu_01234567890123456789012345678901234567890123",
        "not-a-key",
    ],
)
def test_malformed_key_401(api: Api, tenant: Tenant, token: str) -> None:
    response = api.get(tenant.base, headers={"Authorization": f"Bearer {token}"})
    error = assert_error(response, 401, "invalid_api_key")
    assert error["message"] == "malformed API key; keys start with sk-plat_ or sk-eu_"


def test_unknown_key_401(api: Api, tenant: Tenant) -> None:
    unknown = native.generate_key("platform")
    error = assert_error(api.get(tenant.base, key=unknown), 401, "invalid_api_key")
    assert error["message"] == UNKNOWN_OR_REVOKED


def test_revoked_key_reads_like_unknown(api: Api, tenant: Tenant) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    assert api.get(tenant.base, key=created["raw_key"]).status_code == 200
    assert api.delete(f"{tenant.base}/api-keys/{created['id']}", key=tenant.key).status_code == 204
    error = assert_error(api.get(tenant.base, key=created["raw_key"]), 401, "invalid_api_key")
    assert error["message"] == UNKNOWN_OR_REVOKED


def test_bearer_scheme_case_insensitive(api: Api, tenant: Tenant) -> None:
    response = api.get(tenant.base, headers={"Authorization": f"bearer {tenant.key}"})
    assert response.status_code == 200


def test_platform_key_format(tenant: Tenant) -> None:
    assert re.fullmatch(r"sk-plat_[0-9A-Za-z]{43}", tenant.key)
    # 43 base62 characters carry log2(62) * 43 = 256.03 bits.
    assert 62**43 > 2**256


def test_end_user_key_format(end_user: EndUser) -> None:
    assert re.fullmatch(r"sk-eu_[0-9A-Za-z]{43}", end_user.key)


def test_keys_are_distinct(api: Api, tenant: Tenant) -> None:
    raw = {api.post(f"{tenant.base}/api-keys", key=tenant.key).json()["raw_key"] for _ in range(20)}
    assert len(raw) == 20


def test_platform_key_stored_as_hmac(
    tenant: Tenant, redis_client: redis.Redis, pepper: str
) -> None:
    key_hash = native.hash_key(pepper, tenant.key)
    record = redis_client.hgetall(f"ag:apikey:{key_hash}")
    assert record == {
        "kind": "platform",
        "key_id": tenant.key_id,
        "platform_id": tenant.platform_id,
        "owner_id": tenant.owner_id,
        "created_at": record["created_at"],
    }
    assert native.id_millis(tenant.key_id) == int(record["created_at"])


def test_end_user_key_stored_as_hmac(
    end_user: EndUser, redis_client: redis.Redis, pepper: str
) -> None:
    key_hash = native.hash_key(pepper, end_user.key)
    record = redis_client.hgetall(f"ag:apikey:{key_hash}")
    assert record == {
        "kind": "end_user",
        "key_id": end_user.key_id,
        "platform_id": end_user.tenant.platform_id,
        "end_user_id": end_user.id,
        "created_at": record["created_at"],
    }


def test_raw_keys_nowhere_in_redis(
    end_user: EndUser, redis_client: redis.Redis, pepper: str
) -> None:
    raw_keys = [end_user.tenant.key, end_user.key]
    dumped = []
    for name in redis_client.scan_iter(match="ag:*", count=1000):
        kind = redis_client.type(name)
        if kind == "hash":
            dumped.extend(f"{field}={value}" for field, value in redis_client.hgetall(name).items())
        elif kind == "set":
            dumped.extend(redis_client.smembers(name))
        elif kind == "zset":
            dumped.extend(redis_client.zrange(name, 0, -1))
        elif kind == "string":
            dumped.append(str(redis_client.get(name)))
        dumped.append(name)
    text = "\n".join(dumped)
    for raw in raw_keys:
        assert raw not in text
        assert raw[-20:] not in text
    assert native.hash_key(pepper, end_user.key) in text


def test_last_used_empty_until_used(api: Api, tenant: Tenant) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "unused"}).json()
    listed = api.get(f"{tenant.base}/api-keys", key=tenant.key).json()["data"]
    by_id = {item["id"]: item for item in listed}
    assert by_id[created["id"]]["last_used_at"] is None
    assert by_id[tenant.key_id]["last_used_at"] is not None


def test_last_used_set_by_use(api: Api, tenant: Tenant, redis_client: redis.Redis) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    before = int(redis_client.time()[0]) * 1000
    assert api.get(tenant.base, key=created["raw_key"]).status_code == 200
    stored = redis_client.hget(f"ag:{{{tenant.platform_id}}}:key_last_used", created["id"])
    assert stored is not None
    assert int(stored) >= before
    listed = api.get(f"{tenant.base}/api-keys", key=tenant.key).json()["data"]
    listed_value = next(item["last_used_at"] for item in listed if item["id"] == created["id"])
    assert listed_value == iso_ms(int(stored))


def test_last_used_written_once_per_interval(
    api: Api, tenant: Tenant, redis_client: redis.Redis
) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    assert api.get(tenant.base, key=created["raw_key"]).status_code == 200
    last_used = f"ag:{{{tenant.platform_id}}}:key_last_used"
    redis_client.hset(last_used, created["id"], "1000")
    for _ in range(5):
        assert api.get(tenant.base, key=created["raw_key"]).status_code == 200
    assert redis_client.hget(last_used, created["id"]) == "1000"


def test_end_user_key_last_used(api: Api, end_user: EndUser) -> None:
    assert api.get("/v1/me", key=end_user.key).status_code == 200
    listed = api.get(f"{end_user.path}/api-keys", key=end_user.tenant.key).json()["data"]
    assert listed[0]["id"] == end_user.key_id
    assert listed[0]["last_used_at"] is not None
