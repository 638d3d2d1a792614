"""Platform wallets in Redis: read, credit by reference, ledger.

The data plane debits a wallet by each call's provider cost in its settlement
script; the operator credits it with `assistiv-gateway wallet credit`, once per
reference.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from control_plane.money.budgets import LedgerEntry, ledger_page
from control_plane.money.scripts import id_seed, key, scripts_for


class WalletStore:
    """The wallet of one platform."""

    def __init__(self, redis: aioredis.Redis, platform_id: str, clock_flag: str) -> None:
        self.redis = redis
        self.platform_id = platform_id
        self.clock_flag = clock_flag

    async def read(self) -> dict[str, Any]:
        pid = self.platform_id
        keys = [key("wallet", pid), key("wallet_holds", pid), key("money_settings", pid)]
        keys.append(key("test_clock", pid))
        return await scripts_for(self.redis).run("wallet_read", keys, [self.clock_flag])

    async def credit(self, amount_nano: int, reference: str, reason: str) -> dict[str, Any]:
        """Credit the wallet once per `reference`; see wallet_credit.lua for the reply."""
        pid = self.platform_id
        keys = [
            key("platform", pid),
            key("wallet", pid),
            key("wallet_ledger", pid),
            key("wallet_references", pid),
            key("money_settings", pid),
            key("outbox", pid),
            key("test_clock", pid),
        ]
        args = [self.clock_flag, id_seed(), pid, amount_nano, reference, reason]
        return await scripts_for(self.redis).run("wallet_credit", keys, args)

    async def ledger_page(self, limit: int, cursor: str | None) -> tuple[list[LedgerEntry], bool]:
        return await ledger_page(self.redis, key("wallet_ledger", self.platform_id), limit, cursor)
