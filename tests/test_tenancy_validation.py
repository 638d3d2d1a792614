"""Request bodies: JSON syntax, types, ranges, unknown fields and the size limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import GatewayFactory
from tests.fixtures.tenancy import Api, PlatformFactory, Tenant, assert_error


@pytest.mark.parametrize(
    "content",
    [b"", b"   ", b"not json", b'{"external_id": "x"', b"\xff\xfe", b"{'external_id': 'x'}"],
)
def test_non_json_body_400(api: Api, tenant: Tenant, content: bytes) -> None:
    response = api.post(f"{tenant.base}/end-users", key=tenant.key, content=content)
    error = assert_error(response, 400, "invalid_json")
    assert error["type"] == "invalid_request_error"


def test_deeply_nested_body_400(api: Api, tenant: Tenant) -> None:
    """Nesting past the decoder's depth is bad JSON, not an internal error."""
    depth = 10_000
    content = b'{"external_id": "deep", "metadata": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
    response = api.post(f"{tenant.base}/end-users", key=tenant.key, content=content)
    assert_error(response, 400, "invalid_json")
    assert api.get(f"{tenant.base}/end-users", key=tenant.key).json()["data"] == []


def test_non_object_body_400(api: Api, tenant: Tenant) -> None:
    response = api.post(f"{tenant.base}/end-users", key=tenant.key, json=["external_id"])
    error = assert_error(response, 400, "invalid_request")
    assert "Expected `object`, got `array`" in error["message"]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({}, "external_id", "missing required field `external_id`"),
        ({"external_id": 42}, "external_id", "Expected `str`, got `int`"),
        ({"external_id": None}, "external_id", "Expected `str`, got `null`"),
        ({"external_id": ""}, "external_id", "length >= 1"),
        ({"external_id": "x" * 256}, "external_id", "length <= 255"),
        ({"external_id": "x", "display_name": 1}, "display_name", "Expected `str | null`"),
        ({"external_id": "x", "display_name": "y" * 256}, "display_name", "length <= 255"),
        ({"external_id": "x", "metadata": []}, "metadata", "Expected `object | null`"),
        ({"external_id": "x", "metadata": "a=b"}, "metadata", "Expected `object | null`"),
        (
            {"external_id": "x", "metadata": {f"k{i}": i for i in range(51)}},
            "metadata",
            "length <= 50",
        ),
        ({"external_id": "x", "metadata": {"k" * 65: 1}}, "metadata", "length <= 64"),
        ({"external_id": "x", "metadata": {"big": "v" * 17000}}, "metadata", "16384 bytes"),
        ({"external_id": "x", "role": "admin"}, "role", "unknown field `role`"),
    ],
)
def test_invalid_end_user_body_400(
    api: Api, tenant: Tenant, body: dict[str, Any], param: str, fragment: str
) -> None:
    response = api.post(f"{tenant.base}/end-users", key=tenant.key, json=body)
    error = assert_error(response, 400, "invalid_request", param)
    assert fragment in error["message"]
    listed = api.get(f"{tenant.base}/end-users", key=tenant.key).json()["data"]
    assert listed == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": 7}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "ok", "scopes": ["all"]}, "scopes"),
    ],
)
def test_invalid_key_body_400(api: Api, tenant: Tenant, body: dict[str, Any], param: str) -> None:
    response = api.post(f"{tenant.base}/api-keys", key=tenant.key, json=body)
    assert_error(response, 400, "invalid_request", param)
    listed = api.get(f"{tenant.base}/api-keys", key=tenant.key).json()["data"]
    assert [item["id"] for item in listed] == [tenant.key_id]


def test_nested_param_names_field_path(api: Api, tenant: Tenant) -> None:
    body = {"default_budget": {"amount_usd": "5", "period": "daily"}}
    response = api.patch(tenant.base, key=tenant.key, json=body)
    error = assert_error(response, 400, "invalid_request", "default_budget.amount_usd")
    assert error["message"].startswith("invalid request body at default_budget.amount_usd:")


def test_content_type_not_required(api: Api, tenant: Tenant) -> None:
    response = api.post(
        f"{tenant.base}/end-users",
        key=tenant.key,
        content=json.dumps({"external_id": "form"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201


def test_auth_checked_before_body(api: Api, tenant: Tenant) -> None:
    response = api.post(f"{tenant.base}/end-users", content=b"not json")
    assert_error(response, 401, "invalid_api_key")


def test_auth_checked_before_query(api: Api, tenant: Tenant) -> None:
    response = api.get(f"{tenant.base}/end-users", params={"limit": "0"})
    assert_error(response, 401, "invalid_api_key")


LIMIT = 4096


@pytest.fixture
def small_limit_api(gateway_factory: GatewayFactory) -> Iterator[Api]:
    gateway = gateway_factory(name="small-body", ASSISTIV_MAX_BODY_BYTES=str(LIMIT))
    with gateway.client() as client:
        yield Api(client)


def _body_of_size(size: int) -> bytes:
    prefix = b'{"external_id": "big", "metadata": {"pad": "'
    suffix = b'"}}'
    return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix


def test_body_at_limit_accepted(small_limit_api: Api, new_platform: PlatformFactory) -> None:
    tenant = new_platform()
    body = _body_of_size(LIMIT)
    response = small_limit_api.post(f"{tenant.base}/end-users", key=tenant.key, content=body)
    assert response.status_code == 201


def test_body_over_limit_413(small_limit_api: Api, new_platform: PlatformFactory) -> None:
    tenant = new_platform()
    body = _body_of_size(LIMIT + 1)
    response = small_limit_api.post(f"{tenant.base}/end-users", key=tenant.key, content=body)
    error = assert_error(response, 413, "payload_too_large")
    assert error["type"] == "invalid_request_error"


def test_chunked_body_over_limit_413(
    small_limit_api: Api, new_platform: PlatformFactory, redis_client: redis.Redis
) -> None:
    tenant = new_platform()
    body = _body_of_size(LIMIT * 4)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = small_limit_api.client.post(
        f"{tenant.base}/end-users",
        headers={"Authorization": f"Bearer {tenant.key}"},
        content=chunks(),
    )
    assert_error(response, 413, "payload_too_large")
    assert redis_client.zcard(f"ag:{{{tenant.platform_id}}}:eu_index") == 0


def test_next_request_after_413_served(small_limit_api: Api, new_platform: PlatformFactory) -> None:
    tenant = new_platform()
    oversized = iter([_body_of_size(LIMIT * 4)])
    response = small_limit_api.client.post(
        f"{tenant.base}/end-users",
        headers={"Authorization": f"Bearer {tenant.key}"},
        content=oversized,
    )
    assert response.status_code == 413
    listed = small_limit_api.get(f"{tenant.base}/end-users", key=tenant.key)
    assert listed.status_code == 200
    assert listed.json()["data"] == []


def test_error_envelope_shape(api: Api, tenant: Tenant) -> None:
    response = api.post(f"{tenant.base}/end-users", key=tenant.key, json={})
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"message", "type", "code", "param", "request_id"}
    assert isinstance(response, httpx.Response)
