"""`wallet`: the platform's USD balance, which pays the provider cost of every call.

The operator credits the wallet (`assistiv-gateway wallet credit`); there is no
API call that tops it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistiv._base import Call, query
from assistiv._models import Page, Transaction, Wallet
from assistiv._pagination import AsyncPaginator, Paginator
from assistiv.resources._paths import platform_path

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv


def _get(platform_id: str) -> Call[Wallet]:
    return Call("GET", platform_path(platform_id, "wallet"), Wallet)


def _transactions(
    platform_id: str, limit: int | None, cursor: str | None
) -> Call[Page[Transaction]]:
    path = platform_path(platform_id, "wallet", "transactions")
    return Call("GET", path, Page[Transaction], params=query(limit=limit, cursor=cursor))


class WalletResource:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def get(self) -> Wallet:
        """Return the balance, what calls in flight reserve, and what new calls can use."""
        return self._client._request(_get(self._client._platform()))

    def transactions(self, *, limit: int | None = None) -> Paginator[Transaction]:
        """List the wallet's ledger, newest first, fetching `limit` (1 to 100) per page."""

        def fetch(cursor: str | None) -> Page[Transaction]:
            return self._client._request(_transactions(self._client._platform(), limit, cursor))

        return Paginator(fetch)


class AsyncWalletResource:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def get(self) -> Wallet:
        """Return the balance, what calls in flight reserve, and what new calls can use."""
        return await self._client._request(_get(await self._client._platform()))

    def transactions(self, *, limit: int | None = None) -> AsyncPaginator[Transaction]:
        """List the wallet's ledger, newest first, fetching `limit` (1 to 100) per page."""

        async def fetch(cursor: str | None) -> Page[Transaction]:
            platform_id = await self._client._platform()
            return await self._client._request(_transactions(platform_id, limit, cursor))

        return AsyncPaginator(fetch)
