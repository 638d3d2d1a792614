"""Platform keys: `/v1/platforms/{platform_id}/api-keys`.

A platform may hold several active keys at once, so a key can be rotated by
creating the new one before revoking the old. The raw key is returned by the
create call only; lists show `key_prefix`. Revocation deletes the key record
and publishes an invalidation, so every gateway sharing the Redis rejects the
key on its next request.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, delete, get, post

from control_plane.api.common import (
    Cursor,
    Limit,
    Page,
    check_cursor,
    decode_body,
    is_id,
    iso_ms,
    iso_ms_or_none,
    page_after,
)
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant, forget_keys, tenancy_store
from control_plane.context import AppContext
from control_plane.errors import NotFound
from control_plane.store.tenancy import ListedKey, NewKey, PlatformNotFound

KeyName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class CreateApiKey(msgspec.Struct, forbid_unknown_fields=True):
    """The key's label; the body may be empty or omitted."""

    name: KeyName | None = None


class ApiKeyOut(msgspec.Struct):
    id: str
    name: str | None
    key_prefix: str
    created_at: str
    last_used_at: str | None


class ApiKeyList(Page[ApiKeyOut]):
    """A page of keys, oldest first."""


class CreatedApiKey(msgspec.Struct):
    """A new key; `raw_key` is shown in this response only."""

    id: str
    name: str | None
    key_prefix: str
    raw_key: str
    created_at: str


def key_out(listed: ListedKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=listed.meta.id,
        name=listed.meta.name,
        key_prefix=listed.meta.key_prefix,
        created_at=iso_ms(listed.meta.created_at),
        last_used_at=iso_ms_or_none(listed.last_used_at),
    )


def created_key_out(new: NewKey) -> CreatedApiKey:
    return CreatedApiKey(
        id=new.meta.id,
        name=new.meta.name,
        key_prefix=new.meta.key_prefix,
        raw_key=new.raw_key,
        created_at=iso_ms(new.meta.created_at),
    )


def key_page(keys: list[ListedKey], limit: int, cursor: str | None) -> ApiKeyList:
    page = page_after(keys, lambda listed: listed.meta.id, limit, check_cursor(cursor, "key"))
    return ApiKeyList(
        data=[key_out(listed) for listed in page.data],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


@get(
    "/",
    summary="List platform keys",
    operation_id="listApiKeys",
    response_description="A page of keys, oldest first.",
    responses=error_responses(400, 401, 403, 404),
    security=SECURITY,
)
async def list_api_keys(
    tenant: Tenant, ctx: AppContext, limit: Limit = 20, cursor: Cursor = None
) -> ApiKeyList:
    """Keys created under this platform, oldest first; never the raw key or its hash."""
    keys = await tenancy_store(ctx).list_platform_keys(tenant.platform_id)
    return key_page(keys, limit, cursor)


@post(
    "/",
    summary="Create a platform key",
    operation_id="createApiKey",
    response_description="The new key; `raw_key` appears in this response only.",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": CreateApiKey},
)
async def create_api_key(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any]
) -> CreatedApiKey:
    """Mint a platform key that reaches every platform of this platform's owner."""
    body = await decode_body(request, CreateApiKey, empty=CreateApiKey())
    try:
        new = await tenancy_store(ctx).create_platform_key(tenant.platform_id, body.name)
    except PlatformNotFound:
        raise NotFound(f"platform {tenant.platform_id} not found") from None
    return created_key_out(new)


@delete(
    "/{key_id:str}",
    summary="Revoke a platform key",
    operation_id="revokeApiKey",
    response_description="The key is revoked.",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def revoke_api_key(
    tenant: Tenant, ctx: AppContext, key_id: str, request: Request[Any, Any, Any]
) -> None:
    """Revoke a key of this platform; it is rejected from the next request on."""
    revoked = None
    if is_id(key_id, "key"):
        revoked = await tenancy_store(ctx).revoke_platform_key(tenant.platform_id, key_id)
    if revoked is None:
        raise NotFound(f"API key {key_id[:64]} not found")
    forget_keys(request, [revoked.key_hash])


router = Router(
    path="/v1/platforms/{platform_id:str}/api-keys",
    route_handlers=[list_api_keys, create_api_key, revoke_api_key],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["API keys"],
)
