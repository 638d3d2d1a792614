"""`me` and `models`: who the key is, and which models its platform can call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistiv._base import Call
from assistiv._models import Identity, ModelList

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv

ME_CALL: Call[Identity] = Call("GET", "/v1/me", Identity)
_MODELS: Call[ModelList] = Call("GET", "/v1/models", ModelList)


class Me:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def get(self) -> Identity:
        """Return the key's identity: `PlatformIdentity` for a platform key,
        `EndUserIdentity` for an end-user key."""
        return self._client._request(ME_CALL)


class AsyncMe:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def get(self) -> Identity:
        """Return the key's identity: `PlatformIdentity` for a platform key,
        `EndUserIdentity` for an end-user key."""
        return await self._client._request(ME_CALL)


class Models:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def list(self) -> ModelList:
        """List the models the platform can call now; pass an `id` as `model`."""
        return self._client._request(_MODELS)


class AsyncModels:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def list(self) -> ModelList:
        """List the models the platform can call now; pass an `id` as `model`."""
        return await self._client._request(_MODELS)
