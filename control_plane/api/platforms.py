"""`GET` and `PATCH /v1/platforms/{platform_id}`: a platform and its settings.

Settings are stored as one JSON object in the platform record, which the data
plane reads. Amounts stay decimal numbers in USD there. `PATCH` changes the
fields it names, `null` clears a nullable field, and any other field is
rejected with 400.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, get, patch

from control_plane.api.common import decode_body, iso_ms
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant, tenancy_store
from control_plane.context import AppContext
from control_plane.errors import InvalidRequest, NotFound
from control_plane.store.tenancy import Platform, PlatformNotFound

MAX_USD = 1_000_000_000
MARKUP_DECIMALS = 2
USD_DECIMALS = 9

Usd = Annotated[float, msgspec.Meta(ge=0, le=MAX_USD, description="US dollars, at most 9 decimals")]


class DefaultBudget(msgspec.Struct, forbid_unknown_fields=True):
    """The budget each new end user starts with."""

    amount_usd: Usd
    period: Literal["one_time", "daily", "monthly"]


class PlatformSettings(msgspec.Struct):
    display_name: str | None
    markup_percent: float
    default_budget: DefaultBudget | None
    skills_enabled: bool
    low_balance_threshold_usd: float | None
    wallet_low_balance_threshold_usd: float | None


class PlatformOut(msgspec.Struct):
    id: str
    name: str
    slug: str
    created_at: str
    settings: PlatformSettings


class UpdatePlatform(msgspec.Struct, forbid_unknown_fields=True):
    """Settings to change; absent fields keep their value."""

    display_name: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType | None
    ) = msgspec.UNSET
    markup_percent: (
        Annotated[float, msgspec.Meta(ge=0, le=1000, description="at most 2 decimals")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    default_budget: DefaultBudget | msgspec.UnsetType | None = msgspec.UNSET
    skills_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    low_balance_threshold_usd: Usd | msgspec.UnsetType | None = msgspec.UNSET
    wallet_low_balance_threshold_usd: Usd | msgspec.UnsetType | None = msgspec.UNSET


def platform_out(platform: Platform) -> PlatformOut:
    return PlatformOut(
        id=platform.id,
        name=platform.name,
        slug=platform.slug,
        created_at=iso_ms(platform.created_at),
        settings=msgspec.convert(platform.settings, PlatformSettings),
    )


def _decimals(value: float) -> int:
    exponent = Decimal(repr(value)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _plain_number(value: float, param: str, max_decimals: int) -> int | float:
    """`value` as stored: an int when whole, else the float; raises 400 on excess decimals."""
    if _decimals(value) > max_decimals:
        raise InvalidRequest(f"{param} allows at most {max_decimals} decimals", param=param)
    return int(value) if float(value).is_integer() else value


def settings_changes(update: UpdatePlatform) -> dict[str, Any]:
    """The settings JSON fields that `update` changes, checked and normalized."""
    changes: dict[str, Any] = {
        field: getattr(update, field)
        for field in update.__struct_fields__
        if getattr(update, field) is not msgspec.UNSET
    }
    if "markup_percent" in changes:
        changes["markup_percent"] = _plain_number(
            changes["markup_percent"], "markup_percent", MARKUP_DECIMALS
        )
    for field in ("low_balance_threshold_usd", "wallet_low_balance_threshold_usd"):
        if changes.get(field) is not None:
            changes[field] = _plain_number(changes[field], field, USD_DECIMALS)
    budget = changes.get("default_budget")
    if budget is not None:
        amount = _plain_number(budget.amount_usd, "default_budget.amount_usd", USD_DECIMALS)
        changes["default_budget"] = {"amount_usd": amount, "period": budget.period}
    return changes


@get(
    "/",
    summary="Get a platform",
    operation_id="getPlatform",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_platform(tenant: Tenant, ctx: AppContext) -> PlatformOut:
    """The platform's id, name, slug, creation time and settings."""
    platform = await tenancy_store(ctx).get_platform(tenant.platform_id)
    if platform is None:
        raise NotFound(f"platform {tenant.platform_id} not found")
    return platform_out(platform)


@patch(
    "/",
    summary="Update platform settings",
    operation_id="updatePlatform",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": UpdatePlatform},
)
async def update_platform(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any]
) -> PlatformOut:
    """Change the named settings; they apply to the platform's next requests."""
    update = await decode_body(request, UpdatePlatform)
    changes = settings_changes(update)
    store = tenancy_store(ctx)
    try:
        if changes:
            platform = await store.update_settings(tenant.platform_id, changes)
        else:
            found = await store.get_platform(tenant.platform_id)
            if found is None:
                raise PlatformNotFound(tenant.platform_id)
            platform = found
    except PlatformNotFound:
        raise NotFound(f"platform {tenant.platform_id} not found") from None
    return platform_out(platform)


router = Router(
    path="/v1/platforms/{platform_id:str}",
    route_handlers=[get_platform, update_platform],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["Platforms"],
)
