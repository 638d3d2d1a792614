"""`GET /v1/me`: who the request's key is.

Accepts both key kinds. A platform key that reaches several platforms names
one in `X-Assistiv-Platform-Id`; see `auth.header_platform` for the errors.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.di import Provide
from litestar.params import Parameter

from control_plane.api.end_users import EndUserOut, end_user_out
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.api.platforms import PlatformOut, platform_out
from control_plane.auth import PLATFORM_HEADER, Caller, authenticate, header_platform, tenancy_store
from control_plane.context import AppContext
from control_plane.errors import ApiError
from control_plane.store.end_users import EndUserStore


class KeyIdentity(msgspec.Struct):
    id: str
    name: str | None
    key_prefix: str


class PlatformKeyIdentity(msgspec.Struct, tag="platform", tag_field="key_type"):
    """A platform key and the platform it acts on."""

    platform: PlatformOut
    api_key: KeyIdentity
    platform_ids: list[str]


class EndUserKeyIdentity(msgspec.Struct, tag="end_user", tag_field="key_type"):
    """An end-user key, its end user and the end user's platform."""

    platform_id: str
    end_user: EndUserOut
    api_key: KeyIdentity


def _gone() -> ApiError:
    # The key was revoked or its end user deleted between authentication and this read.
    return ApiError("invalid_api_key", "invalid API key: it does not exist or was revoked")


async def _platform_identity(ctx: AppContext, caller: Caller, platform_id: str) -> Any:
    store = tenancy_store(ctx)
    platform = await store.get_platform(platform_id)
    meta = await store.platform_key_meta(caller.key_platform_id, caller.key_id)
    if platform is None or meta is None:
        raise _gone()
    return PlatformKeyIdentity(
        platform=platform_out(platform),
        api_key=KeyIdentity(id=meta.id, name=meta.name, key_prefix=meta.key_prefix),
        platform_ids=sorted(caller.platform_ids),
    )


async def _end_user_identity(ctx: AppContext, caller: Caller) -> Any:
    store = EndUserStore(ctx.redis, str(ctx.settings.key_pepper), caller.key_platform_id)
    end_user_id = str(caller.end_user_id)
    end_user = await store.get(end_user_id)
    meta = await store.key_meta(end_user_id, caller.key_id)
    if end_user is None or meta is None:
        raise _gone()
    return EndUserKeyIdentity(
        platform_id=caller.key_platform_id,
        end_user=end_user_out(end_user),
        api_key=KeyIdentity(id=meta.id, name=meta.name, key_prefix=meta.key_prefix),
    )


@get(
    "/v1/me",
    summary="Identify the key",
    operation_id="getMe",
    dependencies={"caller": Provide(authenticate)},
    responses=error_responses(
        400,
        401,
        403,
        s400="`platform_id_required`: the key reaches several platforms and the "
        f"{PLATFORM_HEADER} header is missing",
        s403="`platform_forbidden`: the header names a platform this key does not reach",
    ),
    security=SECURITY,
    tags=["Me"],
)
async def me(
    caller: Caller,
    ctx: AppContext,
    request: Request[Any, Any, Any],
    platform_header: str | None = Parameter(
        header=PLATFORM_HEADER,
        required=False,
        description="The platform to act on, when the key reaches several.",
    ),
) -> PlatformKeyIdentity | EndUserKeyIdentity:
    """The platform and key for a platform key; the end user and platform for an end-user key."""
    platform_id = await header_platform(request, ctx, caller)
    if caller.is_platform_key:
        return await _platform_identity(ctx, caller, platform_id)
    return await _end_user_identity(ctx, caller)


ROUTES = [me]
