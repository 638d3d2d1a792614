"""Scope: which platforms a key reaches, the platform header, and `GET /v1/me`."""

from __future__ import annotations

import uuid

from tests.fixtures.tenancy import Api, EndUser, PlatformFactory, Tenant, assert_error

HEADER = "X-Assistiv-Platform-Id"


def owner_email() -> str:
    return f"owner-{uuid.uuid4().hex[:12]}@example.com"


def test_owner_key_reaches_every_owned_platform(api: Api, new_platform: PlatformFactory) -> None:
    email = owner_email()
    first = new_platform(name="First", owner=email)
    second = new_platform(name="Second", owner=email)
    assert first.owner_id == second.owner_id
    assert api.get(second.base, key=first.key).json()["name"] == "Second"
    assert api.get(first.base, key=second.key).json()["name"] == "First"


def test_key_created_later_reaches_every_owned_platform(
    api: Api, new_platform: PlatformFactory
) -> None:
    email = owner_email()
    first = new_platform(name="First", owner=email)
    second = new_platform(name="Second", owner=email)
    created = api.post(f"{second.base}/api-keys", key=first.key, json={"name": "ci"}).json()
    assert api.get(first.base, key=created["raw_key"]).status_code == 200
    listed_first = api.get(f"{first.base}/api-keys", key=first.key).json()["data"]
    listed_second = api.get(f"{second.base}/api-keys", key=first.key).json()["data"]
    assert [item["name"] for item in listed_first] == ["default"]
    assert [item["name"] for item in listed_second] == ["default", "ci"]


def test_platform_added_later_is_reachable(api: Api, new_platform: PlatformFactory) -> None:
    email = owner_email()
    first = new_platform(name="First", owner=email)
    assert api.get(first.base, key=first.key).status_code == 200
    second = new_platform(name="Second", owner=email)
    assert api.get(second.base, key=first.key).status_code == 200


def test_owner_email_case_insensitive(new_platform: PlatformFactory) -> None:
    email = owner_email()
    first = new_platform(owner=email.upper())
    second = new_platform(owner=email)
    assert first.owner_id == second.owner_id


def test_platforms_without_owner_are_separate(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert tenant.owner_id != other_tenant.owner_id
    assert_error(api.get(other_tenant.base, key=tenant.key), 404, "not_found")


def test_other_owner_platform_404(api: Api, new_platform: PlatformFactory) -> None:
    mine = new_platform(owner=owner_email())
    theirs = new_platform(owner=owner_email())
    assert_error(api.get(theirs.base, key=mine.key), 404, "not_found")


def test_unknown_platform_404(api: Api, tenant: Tenant) -> None:
    path = "/v1/platforms/plat_00000000000000000000000000"
    assert_error(api.get(path, key=tenant.key), 404, "not_found")


def test_path_ignores_platform_header(api: Api, tenant: Tenant, other_tenant: Tenant) -> None:
    response = api.get(tenant.base, key=tenant.key, platform=other_tenant.platform_id)
    assert response.status_code == 200
    assert response.json()["id"] == tenant.platform_id


def test_me_platform_key(api: Api, tenant: Tenant) -> None:
    response = api.get("/v1/me", key=tenant.key)
    assert response.status_code == 200
    body = response.json()
    platform = api.get(tenant.base, key=tenant.key).json()
    assert body == {
        "key_type": "platform",
        "platform": platform,
        "api_key": {"id": tenant.key_id, "name": "default", "key_prefix": tenant.key[:14]},
        "platform_ids": [tenant.platform_id],
    }
    assert set(platform) == {"id", "name", "slug", "created_at", "settings"}


def test_me_end_user_key(api: Api, end_user: EndUser) -> None:
    response = api.get("/v1/me", key=end_user.key)
    assert response.status_code == 200
    stored = api.get(end_user.path, key=end_user.tenant.key).json()
    assert response.json() == {
        "key_type": "end_user",
        "platform_id": end_user.tenant.platform_id,
        "end_user": stored,
        "api_key": {"id": end_user.key_id, "name": None, "key_prefix": end_user.key[:12]},
    }


def test_me_end_user_key_with_own_platform_header(api: Api, end_user: EndUser) -> None:
    response = api.get("/v1/me", key=end_user.key, platform=end_user.tenant.platform_id)
    assert response.status_code == 200
    assert response.json()["end_user"]["id"] == end_user.id


def test_me_multi_platform_requires_header(api: Api, new_platform: PlatformFactory) -> None:
    email = owner_email()
    first = new_platform(name="First", owner=email)
    second = new_platform(name="Second", owner=email)
    error = assert_error(api.get("/v1/me", key=first.key), 400, "platform_id_required", HEADER)
    assert error["type"] == "invalid_request_error"
    assert first.platform_id in error["message"]
    assert second.platform_id in error["message"]


def test_me_multi_platform_header_selects(api: Api, new_platform: PlatformFactory) -> None:
    email = owner_email()
    first = new_platform(name="First", owner=email)
    second = new_platform(name="Second", owner=email)
    response = api.get("/v1/me", key=first.key, platform=second.platform_id)
    assert response.status_code == 200
    body = response.json()
    assert body["platform"]["id"] == second.platform_id
    assert body["platform"]["name"] == "Second"
    assert body["api_key"]["id"] == first.key_id
    assert body["platform_ids"] == sorted([first.platform_id, second.platform_id])


def test_me_header_unknown_platform_403(api: Api, tenant: Tenant) -> None:
    response = api.get("/v1/me", key=tenant.key, platform="plat_00000000000000000000000000")
    error = assert_error(response, 403, "platform_forbidden", HEADER)
    assert error["type"] == "permission_error"


def test_me_header_garbage_403(api: Api, tenant: Tenant) -> None:
    response = api.get("/v1/me", key=tenant.key, platform="x" * 500)
    error = assert_error(response, 403, "platform_forbidden", HEADER)
    assert len(error["message"]) < 120
