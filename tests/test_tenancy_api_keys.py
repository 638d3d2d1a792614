"""Platform keys: create, list, revoke, rotate."""

from __future__ import annotations

import re

import redis

from control_plane import native
from tests.fixtures.tenancy import Api, Tenant, assert_error

LISTED_FIELDS = {"id", "name", "key_prefix", "created_at", "last_used_at"}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_create_returns_raw_key_once(api: Api, tenant: Tenant) -> None:
    response = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "Production"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "key_prefix", "raw_key", "created_at"}
    assert body["name"] == "Production"
    assert re.fullmatch(r"key_[0-9a-z]{26}", body["id"])
    assert body["raw_key"].startswith("sk-plat_")
    assert body["key_prefix"] == body["raw_key"][:14]
    assert ISO_MS.fullmatch(body["created_at"])


def test_created_key_works(api: Api, tenant: Tenant) -> None:
    raw = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()["raw_key"]
    response = api.get(tenant.base, key=raw)
    assert response.status_code == 200
    assert response.json()["id"] == tenant.platform_id


def test_create_without_body_or_name(api: Api, tenant: Tenant) -> None:
    empty = api.post(f"{tenant.base}/api-keys", key=tenant.key)
    assert empty.status_code == 201
    assert empty.json()["name"] is None
    unnamed = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={})
    assert unnamed.status_code == 201
    assert unnamed.json()["name"] is None


def test_list_never_shows_secrets(api: Api, tenant: Tenant, pepper: str) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "b"}).json()
    response = api.get(f"{tenant.base}/api-keys", key=tenant.key)
    assert response.status_code == 200
    body = response.json()
    assert body["has_more"] is False
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["data"]] == [tenant.key_id, created["id"]]
    for item in body["data"]:
        assert set(item) == LISTED_FIELDS
    for raw in (tenant.key, created["raw_key"]):
        assert raw not in response.text
        assert raw[8:] not in response.text
        assert native.hash_key(pepper, raw) not in response.text


def test_list_shows_created_fields(api: Api, tenant: Tenant) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "ci"}).json()
    listed = api.get(f"{tenant.base}/api-keys", key=tenant.key).json()["data"][1]
    assert listed == {
        "id": created["id"],
        "name": "ci",
        "key_prefix": created["key_prefix"],
        "created_at": created["created_at"],
        "last_used_at": None,
    }


def test_list_pages(api: Api, tenant: Tenant) -> None:
    created = [
        api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": f"k{i}"}).json()["id"]
        for i in range(4)
    ]
    expected = [tenant.key_id, *created]
    first = api.get(f"{tenant.base}/api-keys", key=tenant.key, params={"limit": 2}).json()
    assert [item["id"] for item in first["data"]] == expected[:2]
    assert first["has_more"] is True
    assert first["next_cursor"] == expected[1]
    second = api.get(
        f"{tenant.base}/api-keys",
        key=tenant.key,
        params={"limit": 2, "cursor": first["next_cursor"]},
    ).json()
    assert [item["id"] for item in second["data"]] == expected[2:4]
    third = api.get(
        f"{tenant.base}/api-keys",
        key=tenant.key,
        params={"limit": 2, "cursor": second["next_cursor"]},
    ).json()
    assert [item["id"] for item in third["data"]] == expected[4:]
    assert third["has_more"] is False
    assert third["next_cursor"] is None


def test_revoke_returns_204(api: Api, tenant: Tenant) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    response = api.delete(f"{tenant.base}/api-keys/{created['id']}", key=tenant.key)
    assert response.status_code == 204
    assert response.content == b""


def test_revoked_key_rejected_at_once(api: Api, tenant: Tenant) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    assert api.get(tenant.base, key=created["raw_key"]).status_code == 200
    assert api.delete(f"{tenant.base}/api-keys/{created['id']}", key=tenant.key).status_code == 204
    assert_error(api.get(tenant.base, key=created["raw_key"]), 401, "invalid_api_key")


def test_revoked_key_leaves_list_and_redis(
    api: Api, tenant: Tenant, redis_client: redis.Redis, pepper: str
) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    assert api.get(tenant.base, key=created["raw_key"]).status_code == 200
    assert api.delete(f"{tenant.base}/api-keys/{created['id']}", key=tenant.key).status_code == 204
    listed = api.get(f"{tenant.base}/api-keys", key=tenant.key).json()["data"]
    assert [item["id"] for item in listed] == [tenant.key_id]
    key_hash = native.hash_key(pepper, created["raw_key"])
    assert redis_client.exists(f"ag:apikey:{key_hash}") == 0
    last_used = f"ag:{{{tenant.platform_id}}}:key_last_used"
    assert redis_client.hexists(last_used, created["id"]) is False


def test_revoke_publishes_invalidation(
    api: Api, tenant: Tenant, redis_client: redis.Redis, pepper: str
) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    with redis_client.pubsub() as pubsub:
        pubsub.subscribe("ag:invalidate")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        api.delete(f"{tenant.base}/api-keys/{created['id']}", key=tenant.key)
        message = pubsub.get_message(timeout=5)
    assert message is not None
    assert message["data"] == f"apikey:{native.hash_key(pepper, created['raw_key'])}"


def test_revoke_twice_404(api: Api, tenant: Tenant) -> None:
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key).json()
    path = f"{tenant.base}/api-keys/{created['id']}"
    assert api.delete(path, key=tenant.key).status_code == 204
    assert_error(api.delete(path, key=tenant.key), 404, "not_found")


def test_revoke_unknown_id_404(api: Api, tenant: Tenant) -> None:
    for key_id in ("key_00000000000000000000000000", "nope", "key_x:y"):
        assert_error(
            api.delete(f"{tenant.base}/api-keys/{key_id}", key=tenant.key), 404, "not_found"
        )


def test_rotation_keeps_both_active(api: Api, tenant: Tenant) -> None:
    new = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "next"}).json()
    assert api.get(tenant.base, key=tenant.key).status_code == 200
    assert api.get(tenant.base, key=new["raw_key"]).status_code == 200
    old = api.delete(f"{tenant.base}/api-keys/{tenant.key_id}", key=new["raw_key"])
    assert old.status_code == 204
    assert_error(api.get(tenant.base, key=tenant.key), 401, "invalid_api_key")
    assert api.get(tenant.base, key=new["raw_key"]).status_code == 200


def test_key_may_revoke_itself(api: Api, tenant: Tenant) -> None:
    response = api.delete(f"{tenant.base}/api-keys/{tenant.key_id}", key=tenant.key)
    assert response.status_code == 204
    assert_error(api.get(tenant.base, key=tenant.key), 401, "invalid_api_key")


def test_end_user_key_not_revocable_as_platform_key(api: Api, tenant: Tenant) -> None:
    user = api.post(f"{tenant.base}/end-users", key=tenant.key, json={"external_id": "u"}).json()
    path = f"{tenant.base}/api-keys/{user['api_key']['id']}"
    assert_error(api.delete(path, key=tenant.key), 404, "not_found")
    assert api.get("/v1/me", key=user["api_key"]["raw_key"]).status_code == 200
