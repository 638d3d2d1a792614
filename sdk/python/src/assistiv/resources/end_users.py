"""`end_users`: the platform's users, each with its own end-user keys.

`create` is idempotent on `external_id`: a second call returns the stored end
user, unchanged, with a newly minted key, and earlier keys stay valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from assistiv._base import Call, query, without_unset
from assistiv._models import CreatedEndUser, EndUser, Page
from assistiv._pagination import AsyncPaginator, Paginator
from assistiv._retry import Safety
from assistiv.resources._paths import end_user_path, platform_path

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


def _create(
    platform_id: str,
    external_id: str,
    display_name: str | None,
    metadata: Mapping[str, Any] | None,
) -> Call[CreatedEndUser]:
    body: dict[str, Any] = {"external_id": external_id}
    if display_name is not None:
        body["display_name"] = display_name
    if metadata is not None:
        body["metadata"] = dict(metadata)
    path = platform_path(platform_id, "end-users")
    # A retry would mint a key that no caller receives, so creates are not sent again.
    return Call("POST", path, CreatedEndUser, body=body, safety=Safety.UNSAFE)


def _list(platform_id: str, limit: int | None, cursor: str | None) -> Call[Page[EndUser]]:
    params = query(limit=limit, cursor=cursor)
    return Call("GET", platform_path(platform_id, "end-users"), Page[EndUser], params=params)


def _get(platform_id: str, end_user_id: str) -> Call[EndUser]:
    return Call("GET", end_user_path(platform_id, end_user_id), EndUser)


def _update(
    platform_id: str,
    end_user_id: str,
    display_name: str | Unset | None,
    metadata: Mapping[str, Any] | Unset | None,
) -> Call[EndUser]:
    if isinstance(metadata, Mapping):
        metadata = dict(metadata)
    body = without_unset({"display_name": display_name, "metadata": metadata})
    return Call("PATCH", end_user_path(platform_id, end_user_id), EndUser, body=body)


def _delete(platform_id: str, end_user_id: str) -> Call[None]:
    return Call("DELETE", end_user_path(platform_id, end_user_id), None)


class EndUsers:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def create(
        self,
        *,
        external_id: str,
        display_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CreatedEndUser:
        """Create the end user of `external_id`, or find it, and mint a key for it.

        `api_key.raw_key` of the result is returned this once: store it now.
        """
        platform_id = self._client._platform()
        return self._client._request(_create(platform_id, external_id, display_name, metadata))

    def list(self, *, limit: int | None = None) -> Paginator[EndUser]:
        """List the platform's end users, oldest first, fetching `limit` (1 to 100) per page."""

        def fetch(cursor: str | None) -> Page[EndUser]:
            return self._client._request(_list(self._client._platform(), limit, cursor))

        return Paginator(fetch)

    def get(self, end_user_id: str) -> EndUser:
        return self._client._request(_get(self._client._platform(), end_user_id))

    def update(
        self,
        end_user_id: str,
        *,
        display_name: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | Unset | None = UNSET,
    ) -> EndUser:
        """Change the fields given; `metadata` replaces the whole object, None clears it."""
        call = _update(self._client._platform(), end_user_id, display_name, metadata)
        return self._client._request(call)

    def delete(self, end_user_id: str) -> None:
        """Delete the end user with its keys, budget and rate-limit override."""
        self._client._request(_delete(self._client._platform(), end_user_id))


class AsyncEndUsers:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def create(
        self,
        *,
        external_id: str,
        display_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CreatedEndUser:
        """Create the end user of `external_id`, or find it, and mint a key for it.

        `api_key.raw_key` of the result is returned this once: store it now.
        """
        platform_id = await self._client._platform()
        call = _create(platform_id, external_id, display_name, metadata)
        return await self._client._request(call)

    def list(self, *, limit: int | None = None) -> AsyncPaginator[EndUser]:
        """List the platform's end users, oldest first, fetching `limit` (1 to 100) per page."""

        async def fetch(cursor: str | None) -> Page[EndUser]:
            platform_id = await self._client._platform()
            return await self._client._request(_list(platform_id, limit, cursor))

        return AsyncPaginator(fetch)

    async def get(self, end_user_id: str) -> EndUser:
        return await self._client._request(_get(await self._client._platform(), end_user_id))

    async def update(
        self,
        end_user_id: str,
        *,
        display_name: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | Unset | None = UNSET,
    ) -> EndUser:
        """Change the fields given; `metadata` replaces the whole object, None clears it."""
        platform_id = await self._client._platform()
        return await self._client._request(
            _update(platform_id, end_user_id, display_name, metadata)
        )

    async def delete(self, end_user_id: str) -> None:
        """Delete the end user with its keys, budget and rate-limit override."""
        await self._client._request(_delete(await self._client._platform(), end_user_id))
