"""The platform's wallet: `GET /v1/platforms/{platform_id}/wallet` and its ledger.

The wallet pays the provider cost of every call, debited at settlement; the
operator credits it with `assistiv-gateway wallet credit`. `reserved_usd` is
held by calls in flight, and `available_usd` is what new calls can reserve.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Router, get

from control_plane.api.budgets import TransactionList, check_stream_cursor, transaction_page
from control_plane.api.common import Cursor, Limit, iso_ms_or_none
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant
from control_plane.context import AppContext
from control_plane.money.amounts import usd, usd_or_none
from control_plane.money.clock import clock_flag
from control_plane.money.wallet import WalletStore


class WalletOut(msgspec.Struct):
    platform_id: str
    balance_usd: float
    reserved_usd: float
    available_usd: float
    low_balance_threshold_usd: float | None
    updated_at: str | None


def wallet_out(platform_id: str, fields: dict[str, Any]) -> WalletOut:
    balance = int(fields["balance_nano"])
    reserved = int(fields["reserved_nano"])
    return WalletOut(
        platform_id=platform_id,
        balance_usd=usd(balance),
        reserved_usd=usd(reserved),
        available_usd=usd(max(balance - reserved, 0)),
        low_balance_threshold_usd=usd_or_none(fields["threshold_nano"]),
        updated_at=iso_ms_or_none(int(fields["updated_at_ms"]) or None),
    )


def _store(tenant: Tenant, ctx: AppContext) -> WalletStore:
    return WalletStore(ctx.redis, tenant.platform_id, clock_flag(ctx.settings))


@get(
    "/",
    summary="Get the wallet",
    operation_id="getWallet",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_wallet(tenant: Tenant, ctx: AppContext) -> WalletOut:
    """The wallet's balance, what calls in flight reserve, and what is available."""
    return wallet_out(tenant.platform_id, await _store(tenant, ctx).read())


@get(
    "/transactions",
    summary="List wallet transactions",
    operation_id="listWalletTransactions",
    responses=error_responses(400, 401, 403, 404),
    security=SECURITY,
)
async def list_wallet_transactions(
    tenant: Tenant, ctx: AppContext, limit: Limit = 20, cursor: Cursor = None
) -> TransactionList:
    """The wallet's ledger, newest first; the amounts sum to the balance."""
    after = check_stream_cursor(cursor)
    entries, has_more = await _store(tenant, ctx).ledger_page(limit, after)
    return transaction_page(entries, has_more)


router = Router(
    path="/v1/platforms/{platform_id:str}/wallet",
    route_handlers=[get_wallet, list_wallet_transactions],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["Wallet"],
)
