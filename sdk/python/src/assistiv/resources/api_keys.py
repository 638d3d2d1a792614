"""`api_keys`: the platform's keys. Several may be active at once, so a key can be
rotated by creating the new one before revoking the old."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistiv._base import Call, query
from assistiv._models import ApiKey, CreatedApiKey, Page
from assistiv._pagination import AsyncPaginator, Paginator
from assistiv._retry import Safety
from assistiv.resources._paths import platform_path

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv


def _create(platform_id: str, name: str | None) -> Call[CreatedApiKey]:
    body: dict[str, Any] = {} if name is None else {"name": name}
    path = platform_path(platform_id, "api-keys")
    return Call("POST", path, CreatedApiKey, body=body, safety=Safety.UNSAFE)


def _list(platform_id: str, limit: int | None, cursor: str | None) -> Call[Page[ApiKey]]:
    params = query(limit=limit, cursor=cursor)
    return Call("GET", platform_path(platform_id, "api-keys"), Page[ApiKey], params=params)


def _revoke(platform_id: str, key_id: str) -> Call[None]:
    return Call("DELETE", platform_path(platform_id, "api-keys", key_id), None)


class ApiKeys:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def create(self, *, name: str | None = None) -> CreatedApiKey:
        """Create a platform key. Its `raw_key` is returned this once: store it now."""
        return self._client._request(_create(self._client._platform(), name))

    def list(self, *, limit: int | None = None) -> Paginator[ApiKey]:
        """List the platform's keys, oldest first, fetching `limit` (1 to 100) per page."""

        def fetch(cursor: str | None) -> Page[ApiKey]:
            return self._client._request(_list(self._client._platform(), limit, cursor))

        return Paginator(fetch)

    def revoke(self, key_id: str) -> None:
        """Revoke a key; every gateway instance rejects it from its next request on."""
        self._client._request(_revoke(self._client._platform(), key_id))


class AsyncApiKeys:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def create(self, *, name: str | None = None) -> CreatedApiKey:
        """Create a platform key. Its `raw_key` is returned this once: store it now."""
        return await self._client._request(_create(await self._client._platform(), name))

    def list(self, *, limit: int | None = None) -> AsyncPaginator[ApiKey]:
        """List the platform's keys, oldest first, fetching `limit` (1 to 100) per page."""

        async def fetch(cursor: str | None) -> Page[ApiKey]:
            platform_id = await self._client._platform()
            return await self._client._request(_list(platform_id, limit, cursor))

        return AsyncPaginator(fetch)

    async def revoke(self, key_id: str) -> None:
        """Revoke a key; every gateway instance rejects it from its next request on."""
        await self._client._request(_revoke(await self._client._platform(), key_id))
