"""Rate limits: platform defaults and per-end-user overrides.

- `GET`/`PUT /v1/platforms/{platform_id}/rate-limits`: the defaults of every
  end user. `PUT` replaces them; a null or absent field is unlimited.
- `GET`/`PUT`/`DELETE .../end-users/{end_user_id}/rate-limits`: one end user's
  limits. `PUT` replaces the override: a field given overrides the default
  (null for unlimited), an absent field follows the default. `DELETE` returns
  the end user to the defaults.

Limits are token buckets per end user: a bucket holds the limit and refills
evenly over its window (a minute or a day). Admission reads them on every call,
so a change applies from the next request.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, delete, get, put

from control_plane.api.common import decode_body
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant
from control_plane.context import AppContext
from control_plane.errors import NotFound
from control_plane.money.rate_limits import FIELDS, UNLIMITED, Limits, RateLimitStore
from control_plane.money.scripts import key
from control_plane.store.tenancy import is_id

Rpm = Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description="requests per minute")]
Tpm = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000, description="tokens per minute")]
Rpd = Annotated[int, msgspec.Meta(ge=1, le=100_000_000, description="requests per day")]


class RateLimitsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Limits to set; null is unlimited."""

    requests_per_minute: Rpm | msgspec.UnsetType | None = msgspec.UNSET
    tokens_per_minute: Tpm | msgspec.UnsetType | None = msgspec.UNSET
    requests_per_day: Rpd | msgspec.UnsetType | None = msgspec.UNSET


class RateLimitsOut(msgspec.Struct):
    """Limits in force; null is unlimited."""

    requests_per_minute: int | None
    tokens_per_minute: int | None
    requests_per_day: int | None


class EndUserRateLimitsOut(msgspec.Struct):
    """An end user's limits in force, and which of them override the defaults."""

    end_user_id: str
    requests_per_minute: int | None
    tokens_per_minute: int | None
    requests_per_day: int | None
    overridden: list[str]


def _given(body: RateLimitsIn) -> Limits:
    return {
        field: getattr(body, field) for field in FIELDS if getattr(body, field) is not msgspec.UNSET
    }


def _store(tenant: Tenant, ctx: AppContext) -> RateLimitStore:
    return RateLimitStore(ctx.redis, tenant.platform_id)


async def _end_user_limits(
    tenant: Tenant, ctx: AppContext, end_user_id: str
) -> EndUserRateLimitsOut:
    exists = is_id(end_user_id, "eu") and await ctx.redis.exists(
        key("end_user", tenant.platform_id, end_user_id)
    )
    if not exists:
        raise NotFound(f"end user {end_user_id[:64]} not found")
    store = _store(tenant, ctx)
    defaults = await store.defaults()
    override = await store.override(end_user_id)
    effective: dict[str, Any] = dict(defaults)
    for field, value in override.items():
        if field in FIELDS:
            effective[field] = None if value == UNLIMITED else int(value)
    overridden = [field for field in FIELDS if field in override]
    return EndUserRateLimitsOut(end_user_id=end_user_id, overridden=overridden, **effective)


@get(
    "/rate-limits",
    summary="Get default rate limits",
    operation_id="getRateLimits",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_rate_limits(tenant: Tenant, ctx: AppContext) -> RateLimitsOut:
    return RateLimitsOut(**await _store(tenant, ctx).defaults())


@put(
    "/rate-limits",
    summary="Set default rate limits",
    operation_id="setRateLimits",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": RateLimitsIn},
)
async def put_rate_limits(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any]
) -> RateLimitsOut:
    """Replace the defaults; a null or absent field is unlimited."""
    body = await decode_body(request, RateLimitsIn)
    limits: Limits = dict.fromkeys(FIELDS)
    limits.update(_given(body))
    store = _store(tenant, ctx)
    await store.set_defaults(limits)
    return RateLimitsOut(**await store.defaults())


@get(
    "/end-users/{end_user_id:str}/rate-limits",
    summary="Get an end user's rate limits",
    operation_id="getEndUserRateLimits",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_end_user_rate_limits(
    tenant: Tenant, ctx: AppContext, end_user_id: str
) -> EndUserRateLimitsOut:
    return await _end_user_limits(tenant, ctx, end_user_id)


@put(
    "/end-users/{end_user_id:str}/rate-limits",
    summary="Override an end user's rate limits",
    operation_id="setEndUserRateLimits",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": RateLimitsIn},
)
async def put_end_user_rate_limits(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> EndUserRateLimitsOut:
    """Replace the override: given fields override the defaults, null is unlimited."""
    body = await decode_body(request, RateLimitsIn)
    await _end_user_limits(tenant, ctx, end_user_id)
    await _store(tenant, ctx).set_override(end_user_id, _given(body))
    return await _end_user_limits(tenant, ctx, end_user_id)


@delete(
    "/end-users/{end_user_id:str}/rate-limits",
    summary="Remove an end user's rate-limit override",
    operation_id="deleteEndUserRateLimits",
    response_description="The end user follows the platform's defaults again.",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def delete_end_user_rate_limits(tenant: Tenant, ctx: AppContext, end_user_id: str) -> None:
    await _end_user_limits(tenant, ctx, end_user_id)
    await _store(tenant, ctx).clear_override(end_user_id)


router = Router(
    path="/v1/platforms/{platform_id:str}",
    route_handlers=[
        get_rate_limits,
        put_rate_limits,
        get_end_user_rate_limits,
        put_end_user_rate_limits,
        delete_end_user_rate_limits,
    ],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["Rate limits"],
)
