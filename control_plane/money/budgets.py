"""End-user budgets in Redis: create, read, change, top up, debit, ledger.

Each operation is one script from `rust_core/lua/` (see `budget_context` in
lib.lua for the keys and arguments they share). Scripts return their outcome
as JSON: `status` plus the budget's fields, or `code` and `message` for an
error, which the API answers as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from control_plane.money.idempotency import Claim
from control_plane.money.scripts import id_seed, key, scripts_for

# Fields of a ledger entry, as the scripts write them.
LEDGER_FIELDS = (
    "id",
    "type",
    "amount_nano",
    "balance_after_nano",
    "reason",
    "request_id",
    "idempotency_key",
    "created_at",
)

_NO_CLAIM = Claim(record_key="", token="", key="")


@dataclass(frozen=True)
class LedgerEntry:
    cursor: str  # the stream entry id
    fields: dict[str, str]


class BudgetStore:
    """Budgets of one platform's end users."""

    def __init__(self, redis: aioredis.Redis, platform_id: str, clock_flag: str) -> None:
        self.redis = redis
        self.platform_id = platform_id
        self.clock_flag = clock_flag

    def _keys(self, end_user_id: str, claim: Claim) -> list[str]:
        pid = self.platform_id
        return [
            key("end_user", pid, end_user_id),
            key("budget", pid, end_user_id),
            key("budget_holds", pid, end_user_id),
            key("budget_ledger", pid, end_user_id),
            key("money_settings", pid),
            key("outbox", pid),
            claim.record_key or key("idempotency", pid, "none"),
            key("test_clock", pid),
        ]

    async def _run(
        self,
        name: str,
        end_user_id: str,
        request_id: str,
        extra: list[Any],
        claim: Claim = _NO_CLAIM,
    ) -> dict[str, Any]:
        args = [
            self.clock_flag,
            id_seed(),
            self.platform_id,
            end_user_id,
            request_id,
            claim.token,
            claim.key,
            *extra,
        ]
        keys = self._keys(end_user_id, claim)
        return await scripts_for(self.redis).run(name, keys, args)

    async def read(self, end_user_id: str, request_id: str) -> dict[str, Any]:
        return await self._run("budget_read", end_user_id, request_id, [])

    async def create(
        self,
        end_user_id: str,
        request_id: str,
        claim: Claim,
        *,
        amount_nano: int,
        period: str,
        threshold_nano: int,
    ) -> dict[str, Any]:
        extra: list[Any] = [amount_nano, period, threshold_nano]
        return await self._run("budget_create", end_user_id, request_id, extra, claim)

    async def update(
        self,
        end_user_id: str,
        request_id: str,
        *,
        amount_nano: int | None,
        period: str | None,
        threshold_nano: int | None,
        suspended: bool | None,
    ) -> dict[str, Any]:
        extra = [
            "" if amount_nano is None else amount_nano,
            period or "",
            "" if threshold_nano is None else threshold_nano,
            "" if suspended is None else int(suspended),
        ]
        return await self._run("budget_update", end_user_id, request_id, extra)

    async def adjust(
        self,
        end_user_id: str,
        request_id: str,
        claim: Claim,
        *,
        kind: str,
        amount_nano: int,
        reason: str,
    ) -> dict[str, Any]:
        extra = [kind, amount_nano, reason]
        return await self._run("budget_adjust", end_user_id, request_id, extra, claim)

    async def ledger_page(
        self, end_user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[LedgerEntry], bool]:
        """Ledger entries newest first after `cursor`, and whether more follow."""
        return await ledger_page(
            self.redis, key("budget_ledger", self.platform_id, end_user_id), limit, cursor
        )


async def ledger_page(
    redis: aioredis.Redis, ledger_key: str, limit: int, cursor: str | None
) -> tuple[list[LedgerEntry], bool]:
    """Read one page of a ledger stream, newest first, after the entry `cursor`."""
    start = f"({cursor}" if cursor else "+"
    rows = await redis.xrevrange(ledger_key, max=start, min="-", count=limit + 1)
    entries = [LedgerEntry(cursor=entry_id, fields=fields) for entry_id, fields in rows]
    return entries[:limit], len(entries) > limit
