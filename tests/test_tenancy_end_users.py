"""End users: idempotent create, pages, get, update, delete and their keys."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
import redis

from control_plane import native
from tests.fixtures.tenancy import Api, EndUser, Tenant, assert_error, create_end_user
from tests.harness import Gateway

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_create_returns_201(api: Api, tenant: Tenant) -> None:
    response = api.post(
        f"{tenant.base}/end-users",
        key=tenant.key,
        json={"external_id": "user-42", "display_name": "Jane", "metadata": {"plan": "pro"}},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "external_id", "display_name", "metadata", "created_at", "api_key"}
    assert re.fullmatch(r"eu_[0-9a-z]{26}", body["id"])
    assert body["external_id"] == "user-42"
    assert body["display_name"] == "Jane"
    assert body["metadata"] == {"plan": "pro"}
    assert ISO_MS.fullmatch(body["created_at"])
    assert set(body["api_key"]) == {"id", "key_prefix", "raw_key"}
    assert body["api_key"]["raw_key"].startswith("sk-eu_")
    assert body["api_key"]["key_prefix"] == body["api_key"]["raw_key"][:12]


def test_create_defaults(api: Api, tenant: Tenant) -> None:
    body = api.post(f"{tenant.base}/end-users", key=tenant.key, json={"external_id": "x"}).json()
    assert body["display_name"] is None
    assert body["metadata"] == {}


def test_repeat_create_returns_200_new_key(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    response = api.post(
        f"{tenant.base}/end-users",
        key=tenant.key,
        json={"external_id": end_user.external_id, "display_name": "Changed"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == end_user.id
    assert body["display_name"] == "User One"
    assert body["api_key"]["id"] != end_user.key_id
    assert body["api_key"]["raw_key"] != end_user.key
    for key in (end_user.key, body["api_key"]["raw_key"]):
        me = api.get("/v1/me", key=key)
        assert me.status_code == 200
        assert me.json()["end_user"]["id"] == end_user.id


def test_repeat_create_keeps_one_end_user(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    api.post(f"{tenant.base}/end-users", key=tenant.key, json={"external_id": "user-1"})
    listed = api.get(f"{tenant.base}/end-users", key=tenant.key).json()["data"]
    assert [item["id"] for item in listed] == [end_user.id]
    keys = api.get(f"{end_user.path}/api-keys", key=tenant.key).json()["data"]
    assert len(keys) == 2


def test_same_external_id_on_two_platforms(api: Api, tenant: Tenant, other_tenant: Tenant) -> None:
    mine = create_end_user(api, tenant, "shared-id")
    theirs = create_end_user(api, other_tenant, "shared-id")
    assert mine.id != theirs.id


async def _create_concurrently(url: str, tenant: Tenant, external_id: str, count: int) -> list:
    limits = httpx.Limits(max_connections=count)
    headers = {"Authorization": f"Bearer {tenant.key}"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        requests = [
            client.post(
                f"{tenant.base}/end-users", headers=headers, json={"external_id": external_id}
            )
            for _ in range(count)
        ]
        return list(await asyncio.gather(*requests))


def test_concurrent_creates_make_one_end_user(api: Api, gateway: Gateway, tenant: Tenant) -> None:
    responses = asyncio.run(_create_concurrently(gateway.url, tenant, "racer", 50))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 49 + [201]
    bodies = [response.json() for response in responses]
    assert len({body["id"] for body in bodies}) == 1
    raw_keys = {body["api_key"]["raw_key"] for body in bodies}
    assert len(raw_keys) == 50
    end_user_id = bodies[0]["id"]
    for raw in raw_keys:
        me = api.get("/v1/me", key=raw)
        assert me.status_code == 200
        assert me.json()["end_user"]["id"] == end_user_id
    listed = api.get(f"{tenant.base}/end-users", key=tenant.key).json()["data"]
    assert [item["id"] for item in listed] == [end_user_id]
    keys = api.get(
        f"{tenant.base}/end-users/{end_user_id}/api-keys", key=tenant.key, params={"limit": 100}
    ).json()["data"]
    assert len(keys) == 50


async def _create_and_delete(url: str, tenant: Tenant, rounds: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {tenant.key}"}
    created: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def create() -> None:
            response = await client.post(
                f"{tenant.base}/end-users", headers=headers, json={"external_id": "churn"}
            )
            assert response.status_code in {200, 201}
            body = response.json()
            created.append(body)
            await client.delete(f"{tenant.base}/end-users/{body['id']}", headers=headers)

        await asyncio.gather(*(create() for _ in range(rounds)))
    return created


def test_create_racing_delete_leaves_no_orphan_keys(
    api: Api, gateway: Gateway, tenant: Tenant, redis_client: redis.Redis
) -> None:
    created = asyncio.run(_create_and_delete(gateway.url, tenant, 30))
    assert len(created) == 30
    for name in redis_client.scan_iter(match="ag:apikey:*", count=1000):
        record = redis_client.hgetall(name)
        if record.get("platform_id") != tenant.platform_id or record["kind"] != "end_user":
            continue
        end_user = f"ag:{{{tenant.platform_id}}}:eu:{record['end_user_id']}"
        assert redis_client.exists(end_user) == 1
    for body in created:
        me = api.get("/v1/me", key=body["api_key"]["raw_key"])
        if me.status_code == 200:
            assert (
                api.get(f"{tenant.base}/end-users/{body['id']}", key=tenant.key).status_code == 200
            )
        else:
            assert_error(me, 401, "invalid_api_key")


def test_get_end_user(api: Api, end_user: EndUser) -> None:
    response = api.get(end_user.path, key=end_user.tenant.key)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": end_user.id,
        "external_id": "user-1",
        "display_name": "User One",
        "metadata": {},
        "created_at": body["created_at"],
    }
    assert ISO_MS.fullmatch(body["created_at"])


@pytest.mark.parametrize(
    "end_user_id", ["eu_00000000000000000000000000", "nope", "eu_x:keys", "%7Bplat%7D"]
)
def test_get_unknown_end_user_404(api: Api, tenant: Tenant, end_user_id: str) -> None:
    response = api.get(f"{tenant.base}/end-users/{end_user_id}", key=tenant.key)
    assert_error(response, 404, "not_found")


def test_crafted_id_cannot_read_key_hashes(api: Api, end_user: EndUser) -> None:
    """`eu_…:keys` would name the end user's key hash if ids were not checked."""
    response = api.get(f"{end_user.path}:keys", key=end_user.tenant.key)
    assert_error(response, 404, "not_found")


def test_list_pages_in_creation_order(api: Api, tenant: Tenant) -> None:
    ids = [create_end_user(api, tenant, f"user-{i}").id for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get(f"{tenant.base}/end-users", key=tenant.key, params=params).json()
        assert set(page) == {"data", "has_more", "next_cursor"}
        seen.extend(item["id"] for item in page["data"])
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == ids


def test_list_stable_while_adding(api: Api, tenant: Tenant) -> None:
    ids = [create_end_user(api, tenant, f"user-{i}").id for i in range(4)]
    first = api.get(f"{tenant.base}/end-users", key=tenant.key, params={"limit": 2}).json()
    added = [create_end_user(api, tenant, f"late-{i}").id for i in range(3)]
    rest = api.get(
        f"{tenant.base}/end-users",
        key=tenant.key,
        params={"limit": 100, "cursor": first["next_cursor"]},
    ).json()
    seen = [item["id"] for item in first["data"] + rest["data"]]
    assert seen == ids + added
    assert len(set(seen)) == len(seen)


def test_list_skips_deleted_without_skipping_others(api: Api, tenant: Tenant) -> None:
    ids = [create_end_user(api, tenant, f"user-{i}").id for i in range(5)]
    first = api.get(f"{tenant.base}/end-users", key=tenant.key, params={"limit": 2}).json()
    for end_user_id in ids[1:3]:
        api.delete(f"{tenant.base}/end-users/{end_user_id}", key=tenant.key)
    rest = api.get(
        f"{tenant.base}/end-users",
        key=tenant.key,
        params={"limit": 100, "cursor": first["next_cursor"]},
    ).json()
    assert [item["id"] for item in first["data"]] == ids[:2]
    assert [item["id"] for item in rest["data"]] == ids[3:]


def test_list_default_limit_20(api: Api, tenant: Tenant) -> None:
    for i in range(21):
        create_end_user(api, tenant, f"user-{i}")
    page = api.get(f"{tenant.base}/end-users", key=tenant.key).json()
    assert len(page["data"]) == 20
    assert page["has_more"] is True


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_list_bad_limit_400(api: Api, tenant: Tenant, limit: str) -> None:
    response = api.get(f"{tenant.base}/end-users", key=tenant.key, params={"limit": limit})
    assert_error(response, 400, "invalid_request", "limit")


def test_list_bad_cursor_400(api: Api, tenant: Tenant) -> None:
    response = api.get(f"{tenant.base}/end-users", key=tenant.key, params={"cursor": "garbage"})
    assert_error(response, 400, "invalid_request", "cursor")


def test_update_display_name(api: Api, end_user: EndUser) -> None:
    response = api.patch(end_user.path, key=end_user.tenant.key, json={"display_name": "Jane"})
    assert response.status_code == 200
    assert response.json()["display_name"] == "Jane"
    assert response.json()["metadata"] == {}
    assert api.get(end_user.path, key=end_user.tenant.key).json()["display_name"] == "Jane"


def test_update_metadata_replaces(api: Api, tenant: Tenant) -> None:
    user = create_end_user(api, tenant, "m", metadata={"a": 1, "b": 2})
    response = api.patch(user.path, key=tenant.key, json={"metadata": {"c": [1, {"d": None}]}})
    assert response.status_code == 200
    assert response.json()["metadata"] == {"c": [1, {"d": None}]}
    assert response.json()["external_id"] == "m"


def test_update_null_clears(api: Api, tenant: Tenant) -> None:
    user = create_end_user(api, tenant, "n", display_name="Name", metadata={"a": 1})
    response = api.patch(user.path, key=tenant.key, json={"display_name": None, "metadata": None})
    assert response.status_code == 200
    assert response.json()["display_name"] is None
    assert response.json()["metadata"] == {}


def test_update_empty_body_changes_nothing(api: Api, end_user: EndUser) -> None:
    response = api.patch(end_user.path, key=end_user.tenant.key, json={})
    assert response.status_code == 200
    assert response.json()["display_name"] == "User One"


def test_update_rejects_external_id(api: Api, end_user: EndUser) -> None:
    response = api.patch(end_user.path, key=end_user.tenant.key, json={"external_id": "other"})
    assert_error(response, 400, "invalid_request", "external_id")


def test_update_unknown_end_user_404(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/end-users/eu_00000000000000000000000000"
    assert_error(api.patch(path, key=tenant.key, json={"display_name": "x"}), 404, "not_found")


def test_delete_returns_204(api: Api, end_user: EndUser) -> None:
    response = api.delete(end_user.path, key=end_user.tenant.key)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(end_user.path, key=end_user.tenant.key), 404, "not_found")


def test_delete_rejects_every_key_at_once(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    second = api.post(f"{end_user.path}/api-keys", key=tenant.key).json()["raw_key"]
    third = api.post(
        f"{tenant.base}/end-users", key=tenant.key, json={"external_id": end_user.external_id}
    ).json()["api_key"]["raw_key"]
    for key in (end_user.key, second, third):
        assert api.get("/v1/me", key=key).status_code == 200
    assert api.delete(end_user.path, key=tenant.key).status_code == 204
    for key in (end_user.key, second, third):
        assert_error(api.get("/v1/me", key=key), 401, "invalid_api_key")


def test_delete_removes_redis_state(
    api: Api, end_user: EndUser, redis_client: redis.Redis, pepper: str
) -> None:
    tenant = end_user.tenant
    assert api.delete(end_user.path, key=tenant.key).status_code == 204
    tag = f"ag:{{{tenant.platform_id}}}"
    assert redis_client.exists(f"{tag}:eu:{end_user.id}") == 0
    assert redis_client.exists(f"{tag}:eu:{end_user.id}:keys") == 0
    assert redis_client.exists(f"ag:apikey:{native.hash_key(pepper, end_user.key)}") == 0
    assert redis_client.hexists(f"{tag}:eu_by_external_id", end_user.external_id) is False
    assert redis_client.zscore(f"{tag}:eu_index", end_user.id) is None
    assert redis_client.hexists(f"{tag}:key_last_used", end_user.key_id) is False


def test_delete_publishes_invalidations(
    api: Api, end_user: EndUser, redis_client: redis.Redis, pepper: str
) -> None:
    tenant = end_user.tenant
    with redis_client.pubsub() as pubsub:
        pubsub.subscribe("ag:invalidate")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        assert api.delete(end_user.path, key=tenant.key).status_code == 204
        first = pubsub.get_message(timeout=5)
        second = pubsub.get_message(timeout=5)
    assert first is not None
    assert second is not None
    assert first["data"] == f"apikey:{native.hash_key(pepper, end_user.key)}"
    assert second["data"] == f"end_user:{tenant.platform_id}:{end_user.id}"


def test_external_id_reusable_after_delete(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    assert api.delete(end_user.path, key=tenant.key).status_code == 204
    again = create_end_user(api, tenant, end_user.external_id)
    assert again.id != end_user.id


def test_delete_twice_404(api: Api, end_user: EndUser) -> None:
    assert api.delete(end_user.path, key=end_user.tenant.key).status_code == 204
    assert_error(api.delete(end_user.path, key=end_user.tenant.key), 404, "not_found")


def test_keys_list_without_secrets(api: Api, end_user: EndUser, pepper: str) -> None:
    response = api.get(f"{end_user.path}/api-keys", key=end_user.tenant.key)
    assert response.status_code == 200
    body = response.json()
    assert body["has_more"] is False
    assert body["data"] == [
        {
            "id": end_user.key_id,
            "name": None,
            "key_prefix": end_user.key[:12],
            "created_at": body["data"][0]["created_at"],
            "last_used_at": None,
        }
    ]
    assert end_user.key not in response.text
    assert native.hash_key(pepper, end_user.key) not in response.text


def test_mint_key_returns_201(api: Api, end_user: EndUser) -> None:
    response = api.post(f"{end_user.path}/api-keys", key=end_user.tenant.key, json={"name": "ios"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "key_prefix", "raw_key", "created_at"}
    assert body["name"] == "ios"
    assert body["raw_key"].startswith("sk-eu_")
    me = api.get("/v1/me", key=body["raw_key"]).json()
    assert me["end_user"]["id"] == end_user.id
    assert me["api_key"] == {"id": body["id"], "name": "ios", "key_prefix": body["key_prefix"]}


def test_mint_key_unknown_end_user_404(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/end-users/eu_00000000000000000000000000/api-keys"
    assert_error(api.post(path, key=tenant.key), 404, "not_found")


def test_revoke_end_user_key(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    spare = api.post(f"{end_user.path}/api-keys", key=tenant.key).json()
    response = api.delete(f"{end_user.path}/api-keys/{end_user.key_id}", key=tenant.key)
    assert response.status_code == 204
    assert_error(api.get("/v1/me", key=end_user.key), 401, "invalid_api_key")
    assert api.get("/v1/me", key=spare["raw_key"]).status_code == 200
    listed = api.get(f"{end_user.path}/api-keys", key=tenant.key).json()["data"]
    assert [item["id"] for item in listed] == [spare["id"]]


def test_revoke_key_of_other_end_user_404(api: Api, end_user: EndUser) -> None:
    tenant = end_user.tenant
    other = create_end_user(api, tenant, "other")
    path = f"{end_user.path}/api-keys/{other.key_id}"
    assert_error(api.delete(path, key=tenant.key), 404, "not_found")
    assert api.get("/v1/me", key=other.key).status_code == 200


def test_keys_of_unknown_end_user_404(api: Api, tenant: Tenant) -> None:
    path = f"{tenant.base}/end-users/eu_00000000000000000000000000/api-keys"
    assert_error(api.get(path, key=tenant.key), 404, "not_found")
