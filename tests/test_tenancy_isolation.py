"""Tenant isolation: every management route against every kind of wrong caller.

Each route runs against a victim platform with an end user and a second
platform key. Callers: another platform's key (404, so existence never leaks),
the victim's own end-user key (403), a revoked key and no key (401). After
each attempt the victim's resources must be intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fixtures.tenancy import (
    Api,
    EndUser,
    PlatformFactory,
    Tenant,
    assert_error,
    create_end_user,
)


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    body: dict[str, Any] | None = None

    @property
    def names_sub_resource(self) -> bool:
        return "{end_user}" in self.template or "{platform_key}" in self.template

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


# Every route under /v1/platforms/{platform_id}. `{platform}` is the platform's
# path, `{end_user}` an end user's path, the other fields ids.
ROUTES = [
    Route("GET", "{platform}"),
    Route("PATCH", "{platform}", {"skills_enabled": True}),
    Route("GET", "{platform}/api-keys"),
    Route("POST", "{platform}/api-keys", {"name": "intruder"}),
    Route("DELETE", "{platform}/api-keys/{platform_key}"),
    Route("GET", "{platform}/end-users"),
    Route("POST", "{platform}/end-users", {"external_id": "intruder"}),
    Route("GET", "{end_user}"),
    Route("PATCH", "{end_user}", {"display_name": "Intruder"}),
    Route("DELETE", "{end_user}"),
    Route("GET", "{end_user}/api-keys"),
    Route("POST", "{end_user}/api-keys", {"name": "intruder"}),
    Route("DELETE", "{end_user}/api-keys/{end_user_key}"),
]
SUB_RESOURCE_ROUTES = [route for route in ROUTES if route.names_sub_resource]


@dataclass(frozen=True)
class Victim:
    tenant: Tenant
    end_user: EndUser
    platform_key_id: str
    platform_key: str


@pytest.fixture
def victim(api: Api, new_platform: PlatformFactory) -> Victim:
    tenant = new_platform(name="Victim")
    end_user = create_end_user(api, tenant, "victim-user", display_name="Victim User")
    created = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "spare"}).json()
    return Victim(tenant, end_user, created["id"], created["raw_key"])


def path_of(route: Route, platform_id: str, victim: Victim) -> str:
    platform = f"/v1/platforms/{platform_id}"
    end_user = f"{platform}/end-users/{victim.end_user.id}"
    return route.template.format(
        platform=platform,
        end_user=end_user,
        platform_key=victim.platform_key_id,
        end_user_key=victim.end_user.key_id,
    )


def send(api: Api, route: Route, path: str, key: str | None) -> httpx.Response:
    return api.request(route.method, path, key=key, json=route.body)


def assert_victim_intact(api: Api, victim: Victim) -> None:
    tenant = victim.tenant
    end_user = api.get(victim.end_user.path, key=tenant.key)
    assert end_user.status_code == 200
    assert end_user.json()["display_name"] == "Victim User"
    platform = api.get(tenant.base, key=victim.platform_key)
    assert platform.status_code == 200
    assert platform.json()["settings"]["skills_enabled"] is False
    assert api.get("/v1/me", key=victim.end_user.key).status_code == 200
    end_users = api.get(f"{tenant.base}/end-users", key=tenant.key).json()["data"]
    assert [item["external_id"] for item in end_users] == ["victim-user"]
    keys = api.get(f"{tenant.base}/api-keys", key=tenant.key).json()["data"]
    assert [item["name"] for item in keys] == ["default", "spare"]
    user_keys = api.get(f"{victim.end_user.path}/api-keys", key=tenant.key).json()["data"]
    assert [item["id"] for item in user_keys] == [victim.end_user.key_id]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_other_platform_key_gets_404(
    api: Api, victim: Victim, other_tenant: Tenant, route: Route
) -> None:
    path = path_of(route, victim.tenant.platform_id, victim)
    error = assert_error(send(api, route, path, other_tenant.key), 404, "not_found")
    assert victim.tenant.platform_id in error["message"]
    assert_victim_intact(api, victim)


@pytest.mark.parametrize("route", SUB_RESOURCE_ROUTES, ids=str)
def test_foreign_resource_under_own_platform_404(
    api: Api, victim: Victim, other_tenant: Tenant, route: Route
) -> None:
    path = path_of(route, other_tenant.platform_id, victim)
    assert_error(send(api, route, path, other_tenant.key), 404, "not_found")
    assert_victim_intact(api, victim)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_end_user_key_gets_403(api: Api, victim: Victim, route: Route) -> None:
    path = path_of(route, victim.tenant.platform_id, victim)
    assert_error(send(api, route, path, victim.end_user.key), 403, "platform_key_required")
    assert_victim_intact(api, victim)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_revoked_key_gets_401(api: Api, victim: Victim, route: Route) -> None:
    tenant = victim.tenant
    revoked = api.post(f"{tenant.base}/api-keys", key=tenant.key, json={"name": "old"}).json()
    assert api.delete(f"{tenant.base}/api-keys/{revoked['id']}", key=tenant.key).status_code == 204
    path = path_of(route, tenant.platform_id, victim)
    assert_error(send(api, route, path, revoked["raw_key"]), 401, "invalid_api_key")
    assert_victim_intact(api, victim)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_missing_key_gets_401(api: Api, victim: Victim, route: Route) -> None:
    path = path_of(route, victim.tenant.platform_id, victim)
    assert_error(send(api, route, path, None), 401, "invalid_api_key")
    assert_victim_intact(api, victim)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_revoked_end_user_key_gets_401(api: Api, victim: Victim, route: Route) -> None:
    """A revoked end-user key is rejected as unknown, before its kind is considered."""
    user = victim.end_user
    extra = api.post(f"{user.path}/api-keys", key=victim.tenant.key).json()
    revoke = api.delete(f"{user.path}/api-keys/{extra['id']}", key=victim.tenant.key)
    assert revoke.status_code == 204
    path = path_of(route, victim.tenant.platform_id, victim)
    assert_error(send(api, route, path, extra["raw_key"]), 401, "invalid_api_key")


def test_me_header_naming_other_platform_403(
    api: Api, victim: Victim, other_tenant: Tenant
) -> None:
    response = api.get("/v1/me", key=other_tenant.key, platform=victim.tenant.platform_id)
    error = assert_error(response, 403, "platform_forbidden", "X-Assistiv-Platform-Id")
    assert victim.tenant.platform_id in error["message"]


def test_me_end_user_header_naming_other_platform_403(
    api: Api, victim: Victim, other_tenant: Tenant
) -> None:
    response = api.get("/v1/me", key=victim.end_user.key, platform=other_tenant.platform_id)
    assert_error(response, 403, "platform_forbidden", "X-Assistiv-Platform-Id")


def test_me_revoked_key_401(api: Api, victim: Victim) -> None:
    tenant = victim.tenant
    revoke = api.delete(f"{tenant.base}/api-keys/{victim.platform_key_id}", key=tenant.key)
    assert revoke.status_code == 204
    assert_error(api.get("/v1/me", key=victim.platform_key), 401, "invalid_api_key")


def test_me_missing_key_401(api: Api) -> None:
    assert_error(api.get("/v1/me"), 401, "invalid_api_key")


def test_matrix_covers_every_tenancy_route(api: Api) -> None:
    document = api.get("/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/v1/platforms/{platform_id}")
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    }
    templates = {
        "{platform}": "/v1/platforms/{platform_id}",
        "{end_user}": "/v1/platforms/{platform_id}/end-users/{end_user_id}",
        "{platform_key}": "{key_id}",
        "{end_user_key}": "{key_id}",
    }
    covered = set()
    for route in ROUTES:
        path = route.template
        for name, value in templates.items():
            path = path.replace(name, value)
        covered.add((route.method, path))
    tenancy = {(method, path) for method, path in documented if _is_tenancy_path(path)}
    assert tenancy == covered


def _is_tenancy_path(path: str) -> bool:
    rest = path.removeprefix("/v1/platforms/{platform_id}")
    return (
        rest == ""
        or rest.startswith(("/api-keys", "/end-users/{end_user_id}/api-keys"))
        or (rest.startswith("/end-users") and rest.count("/") <= 2)
    )
