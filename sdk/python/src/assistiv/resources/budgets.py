"""`budgets`: an end user's USD budget, its top-ups and debits, and its ledger.

`create`, `topup` and `debit` send an `Idempotency-Key`: the one given, else a
new UUID4 per call that every retry of that call repeats, so a change is
applied at most once however often the request is sent. Pass your own key
(for example `stipend-2025-07`) to make repeated calls of your program safe
as well.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from assistiv._base import Call, money_call, query, without_unset
from assistiv._models import Budget, BudgetChange, Page, Transaction
from assistiv._pagination import AsyncPaginator, Paginator
from assistiv.resources._paths import end_user_path

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv

Usd = Decimal | int | float
Period = Literal["one_time", "daily", "monthly"]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


def _create(
    platform_id: str,
    end_user_id: str,
    amount_usd: Usd,
    period: Period,
    low_balance_threshold_usd: Usd | None,
    idempotency_key: str | None,
) -> Call[Budget]:
    body: dict[str, Any] = {"amount_usd": amount_usd, "period": period}
    if low_balance_threshold_usd is not None:
        body["low_balance_threshold_usd"] = low_balance_threshold_usd
    path = end_user_path(platform_id, end_user_id, "budget")
    return money_call(path, Budget, body, idempotency_key)


def _get(platform_id: str, end_user_id: str) -> Call[Budget]:
    return Call("GET", end_user_path(platform_id, end_user_id, "budget"), Budget)


def _update(platform_id: str, end_user_id: str, fields: dict[str, Any]) -> Call[Budget]:
    path = end_user_path(platform_id, end_user_id, "budget")
    return Call("PATCH", path, Budget, body=without_unset(fields))


def _move(
    kind: str,
    platform_id: str,
    end_user_id: str,
    amount_usd: Usd,
    reason: str,
    idempotency_key: str | None,
) -> Call[BudgetChange]:
    path = end_user_path(platform_id, end_user_id, "budget", kind)
    body = {"amount_usd": amount_usd, "reason": reason}
    return money_call(path, BudgetChange, body, idempotency_key)


def _transactions(
    platform_id: str, end_user_id: str, limit: int | None, cursor: str | None
) -> Call[Page[Transaction]]:
    path = end_user_path(platform_id, end_user_id, "budget", "transactions")
    return Call("GET", path, Page[Transaction], params=query(limit=limit, cursor=cursor))


class Budgets:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def create(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd,
        period: Period,
        low_balance_threshold_usd: Usd | None = None,
        idempotency_key: str | None = None,
    ) -> Budget:
        """Give the end user `amount_usd` per period; 409 `conflict` if it has a budget."""
        call = _create(
            self._client._platform(),
            end_user_id,
            amount_usd,
            period,
            low_balance_threshold_usd,
            idempotency_key,
        )
        return self._client._request(call)

    def get(self, end_user_id: str) -> Budget:
        return self._client._request(_get(self._client._platform(), end_user_id))

    def update(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd | Unset = UNSET,
        period: Period | Unset = UNSET,
        low_balance_threshold_usd: Usd | Unset | None = UNSET,
        is_suspended: bool | Unset = UNSET,
    ) -> Budget:
        """Change the fields given; a None threshold falls back to the platform's."""
        fields = {
            "amount_usd": amount_usd,
            "period": period,
            "low_balance_threshold_usd": low_balance_threshold_usd,
            "is_suspended": is_suspended,
        }
        return self._client._request(_update(self._client._platform(), end_user_id, fields))

    def topup(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> BudgetChange:
        """Add `amount_usd` to this period's allowance; it ends at the next reset."""
        call = _move(
            "topup", self._client._platform(), end_user_id, amount_usd, reason, idempotency_key
        )
        return self._client._request(call)

    def debit(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> BudgetChange:
        """Take `amount_usd` from the budget; `AssistivPaymentRequiredError` if less is left."""
        call = _move(
            "debit", self._client._platform(), end_user_id, amount_usd, reason, idempotency_key
        )
        return self._client._request(call)

    def transactions(self, end_user_id: str, *, limit: int | None = None) -> Paginator[Transaction]:
        """List the budget's ledger, newest first, fetching `limit` (1 to 100) per page."""

        def fetch(cursor: str | None) -> Page[Transaction]:
            call = _transactions(self._client._platform(), end_user_id, limit, cursor)
            return self._client._request(call)

        return Paginator(fetch)


class AsyncBudgets:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    async def create(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd,
        period: Period,
        low_balance_threshold_usd: Usd | None = None,
        idempotency_key: str | None = None,
    ) -> Budget:
        """Give the end user `amount_usd` per period; 409 `conflict` if it has a budget."""
        call = _create(
            await self._client._platform(),
            end_user_id,
            amount_usd,
            period,
            low_balance_threshold_usd,
            idempotency_key,
        )
        return await self._client._request(call)

    async def get(self, end_user_id: str) -> Budget:
        return await self._client._request(_get(await self._client._platform(), end_user_id))

    async def update(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd | Unset = UNSET,
        period: Period | Unset = UNSET,
        low_balance_threshold_usd: Usd | Unset | None = UNSET,
        is_suspended: bool | Unset = UNSET,
    ) -> Budget:
        """Change the fields given; a None threshold falls back to the platform's."""
        fields = {
            "amount_usd": amount_usd,
            "period": period,
            "low_balance_threshold_usd": low_balance_threshold_usd,
            "is_suspended": is_suspended,
        }
        platform_id = await self._client._platform()
        return await self._client._request(_update(platform_id, end_user_id, fields))

    async def topup(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> BudgetChange:
        """Add `amount_usd` to this period's allowance; it ends at the next reset."""
        platform_id = await self._client._platform()
        call = _move("topup", platform_id, end_user_id, amount_usd, reason, idempotency_key)
        return await self._client._request(call)

    async def debit(
        self,
        end_user_id: str,
        *,
        amount_usd: Usd,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> BudgetChange:
        """Take `amount_usd` from the budget; `AssistivPaymentRequiredError` if less is left."""
        platform_id = await self._client._platform()
        call = _move("debit", platform_id, end_user_id, amount_usd, reason, idempotency_key)
        return await self._client._request(call)

    def transactions(
        self, end_user_id: str, *, limit: int | None = None
    ) -> AsyncPaginator[Transaction]:
        """List the budget's ledger, newest first, fetching `limit` (1 to 100) per page."""

        async def fetch(cursor: str | None) -> Page[Transaction]:
            platform_id = await self._client._platform()
            return await self._client._request(
                _transactions(platform_id, end_user_id, limit, cursor)
            )

        return AsyncPaginator(fetch)
