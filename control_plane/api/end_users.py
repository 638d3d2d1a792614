"""End users: `/v1/platforms/{platform_id}/end-users` and their keys.

Create is idempotent on `external_id`. The first call returns 201, and later
calls return 200 with the stored end user (unchanged, because PATCH edits it)
and a freshly minted key. Earlier keys stay valid until revoked. Lists are ordered
by creation, oldest first.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec

from control_plane.api.api_keys import (
    ApiKeyList,
    CreateApiKey,
    CreatedApiKey,
    created_key_out,
    key_page,
)
from control_plane.api.common import Cursor, Limit, Page, check_cursor, decode_body, is_id, iso_ms
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant, forget_keys
from control_plane.context import AppContext
from control_plane.errors import InvalidRequest, NotFound
from control_plane.store.end_users import EndUser, EndUserGone, EndUserStore

METADATA_MAX_KEYS = 50
METADATA_MAX_BYTES = 16 * 1024

ExternalId = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Metadata = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=64)], Any],
    msgspec.Meta(
        max_length=METADATA_MAX_KEYS,
        description="Any JSON object of up to 50 keys and 16 KiB, stored as given.",
    ),
]


class CreateEndUser(msgspec.Struct, forbid_unknown_fields=True):
    external_id: ExternalId
    display_name: DisplayName | None = None
    metadata: Metadata | None = None


class UpdateEndUser(msgspec.Struct, forbid_unknown_fields=True):
    """Fields to change; `metadata` replaces the whole object, `null` clears it."""

    display_name: DisplayName | msgspec.UnsetType | None = msgspec.UNSET
    metadata: Metadata | msgspec.UnsetType | None = msgspec.UNSET


class EndUserOut(msgspec.Struct):
    id: str
    external_id: str
    display_name: str | None
    metadata: dict[str, Any]
    created_at: str


class EndUserList(Page[EndUserOut]):
    """A page of end users, oldest first."""


class EndUserKey(msgspec.Struct):
    """The key minted by this call; `raw_key` is shown in this response only."""

    id: str
    key_prefix: str
    raw_key: str


class CreatedEndUser(msgspec.Struct):
    id: str
    external_id: str
    display_name: str | None
    metadata: dict[str, Any]
    created_at: str
    api_key: EndUserKey


def end_user_out(end_user: EndUser) -> EndUserOut:
    return EndUserOut(
        id=end_user.id,
        external_id=end_user.external_id,
        display_name=end_user.display_name,
        metadata=end_user.metadata,
        created_at=iso_ms(end_user.created_at),
    )


def _check_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if len(msgspec.json.encode(metadata)) > METADATA_MAX_BYTES:
        raise InvalidRequest(
            f"metadata exceeds {METADATA_MAX_BYTES} bytes of JSON", param="metadata"
        )
    return metadata


def _store(tenant: Tenant, ctx: AppContext) -> EndUserStore:
    return EndUserStore(ctx.redis, str(ctx.settings.key_pepper), tenant.platform_id)


def _not_found(end_user_id: str) -> NotFound:
    return NotFound(f"end user {end_user_id[:64]} not found")


async def _existing(store: EndUserStore, end_user_id: str) -> EndUser:
    end_user = await store.get(end_user_id) if is_id(end_user_id, "eu") else None
    if end_user is None:
        raise _not_found(end_user_id)
    return end_user


@post(
    "/",
    summary="Create an end user",
    operation_id="createEndUser",
    response_description="The end user was created with its first key.",
    status_code=201,
    responses={
        200: ResponseSpec(
            data_container=CreatedEndUser,
            description="The external id already had this end user; a new key was minted.",
            generate_examples=False,
        ),
        **error_responses(400, 401, 403, 404, 413),
    },
    security=SECURITY,
    opt={"body": CreateEndUser},
)
async def create_end_user(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any]
) -> Response[CreatedEndUser]:
    """Create the end user of `external_id`, or find it, and mint an end-user key."""
    body = await decode_body(request, CreateEndUser)
    metadata = _check_metadata(body.metadata)
    end_user, created, key = await _store(tenant, ctx).create(
        body.external_id, body.display_name, metadata
    )
    out = end_user_out(end_user)
    content = CreatedEndUser(
        id=out.id,
        external_id=out.external_id,
        display_name=out.display_name,
        metadata=out.metadata,
        created_at=out.created_at,
        api_key=EndUserKey(id=key.meta.id, key_prefix=key.meta.key_prefix, raw_key=key.raw_key),
    )
    return Response(content, status_code=201 if created else 200)


@get(
    "/",
    summary="List end users",
    operation_id="listEndUsers",
    response_description="A page of end users, oldest first.",
    responses=error_responses(400, 401, 403, 404),
    security=SECURITY,
)
async def list_end_users(
    tenant: Tenant, ctx: AppContext, limit: Limit = 20, cursor: Cursor = None
) -> EndUserList:
    """End users of the platform, oldest first, `limit` at a time."""
    after = check_cursor(cursor, "eu")
    end_users, next_cursor = await _store(tenant, ctx).list(limit, after)
    return EndUserList(
        data=[end_user_out(end_user) for end_user in end_users],
        has_more=next_cursor is not None,
        next_cursor=next_cursor,
    )


@get(
    "/{end_user_id:str}",
    summary="Get an end user",
    operation_id="getEndUser",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_end_user(tenant: Tenant, ctx: AppContext, end_user_id: str) -> EndUserOut:
    return end_user_out(await _existing(_store(tenant, ctx), end_user_id))


@patch(
    "/{end_user_id:str}",
    summary="Update an end user",
    operation_id="updateEndUser",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": UpdateEndUser},
)
async def update_end_user(
    tenant: Tenant, ctx: AppContext, end_user_id: str, request: Request[Any, Any, Any]
) -> EndUserOut:
    """Change the display name or replace the metadata."""
    if not is_id(end_user_id, "eu"):
        raise _not_found(end_user_id)
    body = await decode_body(request, UpdateEndUser)
    metadata = body.metadata
    if metadata is not msgspec.UNSET:
        metadata = _check_metadata(metadata)
    end_user = await _store(tenant, ctx).update(end_user_id, body.display_name, metadata)
    if end_user is None:
        raise _not_found(end_user_id)
    return end_user_out(end_user)


@delete(
    "/{end_user_id:str}",
    summary="Delete an end user",
    operation_id="deleteEndUser",
    response_description="The end user and its keys are deleted.",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def delete_end_user(
    tenant: Tenant, ctx: AppContext, end_user_id: str, request: Request[Any, Any, Any]
) -> None:
    """Delete the end user with its keys (rejected at once) and all its per-user state."""
    deleted = None
    if is_id(end_user_id, "eu"):
        deleted = await _store(tenant, ctx).delete(end_user_id)
    if deleted is None:
        raise _not_found(end_user_id)
    forget_keys(request, [meta.key_hash for meta in deleted])


@get(
    "/{end_user_id:str}/api-keys",
    summary="List an end user's keys",
    operation_id="listEndUserApiKeys",
    response_description="A page of the end user's keys, oldest first.",
    responses=error_responses(400, 401, 403, 404),
    security=SECURITY,
)
async def list_end_user_keys(
    tenant: Tenant, ctx: AppContext, end_user_id: str, limit: Limit = 20, cursor: Cursor = None
) -> ApiKeyList:
    store = _store(tenant, ctx)
    await _existing(store, end_user_id)
    return key_page(await store.list_keys(end_user_id), limit, cursor)


@post(
    "/{end_user_id:str}/api-keys",
    summary="Mint an end-user key",
    operation_id="createEndUserApiKey",
    response_description="The new key; `raw_key` appears in this response only.",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": CreateApiKey},
)
async def create_end_user_key(
    tenant: Tenant, ctx: AppContext, end_user_id: str, request: Request[Any, Any, Any]
) -> CreatedApiKey:
    """Mint another key for the end user, for example to rotate its current one."""
    if not is_id(end_user_id, "eu"):
        raise _not_found(end_user_id)
    body = await decode_body(request, CreateApiKey, empty=CreateApiKey())
    try:
        key = await _store(tenant, ctx).mint_key(end_user_id, body.name)
    except EndUserGone:
        raise _not_found(end_user_id) from None
    return created_key_out(key)


@delete(
    "/{end_user_id:str}/api-keys/{key_id:str}",
    summary="Revoke an end-user key",
    operation_id="revokeEndUserApiKey",
    response_description="The key is revoked.",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def revoke_end_user_key(
    tenant: Tenant, ctx: AppContext, end_user_id: str, key_id: str, request: Request[Any, Any, Any]
) -> None:
    """Revoke one key of the end user; it is rejected from the next request on."""
    revoked = None
    if is_id(end_user_id, "eu") and is_id(key_id, "key"):
        revoked = await _store(tenant, ctx).revoke_key(end_user_id, key_id)
    if revoked is None:
        raise NotFound(f"API key {key_id[:64]} not found")
    forget_keys(request, [revoked.key_hash])


router = Router(
    path="/v1/platforms/{platform_id:str}/end-users",
    route_handlers=[
        create_end_user,
        list_end_users,
        get_end_user,
        update_end_user,
        delete_end_user,
        list_end_user_keys,
        create_end_user_key,
        revoke_end_user_key,
    ],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["End users"],
)
