"""Platform record and settings: `GET` and `PATCH /v1/platforms/{platform_id}`."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import redis

from tests.fixtures.tenancy import Api, PlatformFactory, Tenant, assert_error

DEFAULTS = {
    "display_name": None,
    "markup_percent": 0.0,
    "default_budget": None,
    "skills_enabled": False,
    "low_balance_threshold_usd": None,
    "wallet_low_balance_threshold_usd": None,
}


def test_get_platform(api: Api, new_platform: PlatformFactory) -> None:
    tenant = new_platform(name="Acme Tutors")
    response = api.get(tenant.base, key=tenant.key)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": tenant.platform_id,
        "name": "Acme Tutors",
        "slug": body["slug"],
        "created_at": body["created_at"],
        "settings": DEFAULTS,
    }
    assert re.fullmatch(r"acme-tutors(-[0-9a-f]+|-\d)?", body["slug"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["created_at"])


def test_slugs_are_unique(api: Api, new_platform: PlatformFactory) -> None:
    slugs = set()
    for _ in range(3):
        tenant = new_platform(name="Same Name!")
        slugs.add(api.get(tenant.base, key=tenant.key).json()["slug"])
    assert len(slugs) == 3


def test_patch_every_setting(api: Api, tenant: Tenant) -> None:
    changes = {
        "display_name": "Acme",
        "markup_percent": 12.5,
        "default_budget": {"amount_usd": 5.25, "period": "monthly"},
        "skills_enabled": True,
        "low_balance_threshold_usd": 1,
        "wallet_low_balance_threshold_usd": 100.5,
    }
    response = api.patch(tenant.base, key=tenant.key, json=changes)
    assert response.status_code == 200
    expected = {**changes, "low_balance_threshold_usd": 1.0}
    assert response.json()["settings"] == expected
    assert api.get(tenant.base, key=tenant.key).json()["settings"] == expected


def test_patch_keeps_other_settings(api: Api, tenant: Tenant) -> None:
    api.patch(tenant.base, key=tenant.key, json={"markup_percent": 10})
    response = api.patch(tenant.base, key=tenant.key, json={"skills_enabled": True})
    settings = response.json()["settings"]
    assert settings["markup_percent"] == 10
    assert settings["skills_enabled"] is True


def test_patch_null_clears(api: Api, tenant: Tenant) -> None:
    api.patch(
        tenant.base,
        key=tenant.key,
        json={"display_name": "X", "default_budget": {"amount_usd": 1, "period": "daily"}},
    )
    response = api.patch(
        tenant.base, key=tenant.key, json={"display_name": None, "default_budget": None}
    )
    assert response.json()["settings"] == DEFAULTS


def test_patch_empty_changes_nothing(api: Api, tenant: Tenant) -> None:
    response = api.patch(tenant.base, key=tenant.key, json={})
    assert response.status_code == 200
    assert response.json()["settings"] == DEFAULTS


def test_settings_json_for_data_plane(api: Api, tenant: Tenant, redis_client: redis.Redis) -> None:
    api.patch(
        tenant.base,
        key=tenant.key,
        json={"markup_percent": 7.25, "default_budget": {"amount_usd": 3, "period": "one_time"}},
    )
    stored = json.loads(redis_client.hget(f"ag:{{{tenant.platform_id}}}:platform", "settings"))
    assert stored == {
        "display_name": None,
        "markup_percent": 7.25,
        "default_budget": {"amount_usd": 3, "period": "one_time"},
        "skills_enabled": False,
        "low_balance_threshold_usd": None,
        "wallet_low_balance_threshold_usd": None,
    }


def test_patch_publishes_invalidation(api: Api, tenant: Tenant, redis_client: redis.Redis) -> None:
    with redis_client.pubsub() as pubsub:
        pubsub.subscribe("ag:invalidate")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        api.patch(tenant.base, key=tenant.key, json={"skills_enabled": True})
        message = pubsub.get_message(timeout=5)
    assert message is not None
    assert message["data"] == f"platform:{tenant.platform_id}"


def test_patch_name_rejected(api: Api, tenant: Tenant) -> None:
    response = api.patch(tenant.base, key=tenant.key, json={"name": "Renamed"})
    assert_error(response, 400, "invalid_request", "name")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"branding": {"color": "red"}}, "branding"),
        ({"markup_percent": -1}, "markup_percent"),
        ({"markup_percent": 1000.01}, "markup_percent"),
        ({"markup_percent": 12.345}, "markup_percent"),
        ({"markup_percent": "10"}, "markup_percent"),
        ({"markup_percent": None}, "markup_percent"),
        ({"skills_enabled": "true"}, "skills_enabled"),
        ({"skills_enabled": None}, "skills_enabled"),
        ({"display_name": 5}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"default_budget": {"amount_usd": 5}}, "default_budget.period"),
        ({"default_budget": {"amount_usd": 5, "period": "weekly"}}, "default_budget.period"),
        ({"default_budget": {"amount_usd": -5, "period": "daily"}}, "default_budget.amount_usd"),
        (
            {"default_budget": {"amount_usd": 0.0000000001, "period": "daily"}},
            "default_budget.amount_usd",
        ),
        ({"default_budget": {"amount_usd": 5, "period": "daily", "x": 1}}, "default_budget.x"),
        ({"default_budget": 5}, "default_budget"),
        ({"low_balance_threshold_usd": -0.01}, "low_balance_threshold_usd"),
        ({"wallet_low_balance_threshold_usd": "1"}, "wallet_low_balance_threshold_usd"),
    ],
)
def test_patch_invalid_setting_400(
    api: Api, tenant: Tenant, body: dict[str, Any], param: str
) -> None:
    response = api.patch(tenant.base, key=tenant.key, json=body)
    assert_error(response, 400, "invalid_request", param)
    assert api.get(tenant.base, key=tenant.key).json()["settings"] == DEFAULTS


def test_markup_bounds_accepted(api: Api, tenant: Tenant) -> None:
    for value in (0, 1000, 999.99, 0.01):
        response = api.patch(tenant.base, key=tenant.key, json={"markup_percent": value})
        assert response.status_code == 200
        assert response.json()["settings"]["markup_percent"] == value
