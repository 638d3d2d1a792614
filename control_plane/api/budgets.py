"""End-user budgets: `/v1/platforms/{platform_id}/end-users/{end_user_id}/budget`.

- `POST` creates the budget (201); `GET` reads it, `PATCH` changes its amount,
  period, low-balance threshold or suspension.
- `POST .../topup` and `POST .../debit` move money with a reason (201).
- `GET .../transactions` pages through its ledger, newest first.

An end user without a budget is unlimited, unless the platform's settings give
a default budget, which is created on first use (including a `GET` here). The
POST routes accept `Idempotency-Key` (see `money.idempotency`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, patch, post

from control_plane.api.common import Cursor, Limit, Page, decode_json, iso_ms, iso_ms_or_none
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant
from control_plane.context import AppContext
from control_plane.errors import ApiError, InvalidRequest, request_id_of
from control_plane.money import idempotency
from control_plane.money.amounts import nanos_from_usd, usd, usd_or_none
from control_plane.money.budgets import BudgetStore, LedgerEntry
from control_plane.money.clock import clock_flag
from control_plane.money.idempotency import Claim, Replay
from control_plane.store.tenancy import is_id

Period = Literal["one_time", "daily", "monthly"]
Reason = Annotated[str, msgspec.Meta(max_length=500)]
Usd = Annotated[Decimal, msgspec.Meta(description="US dollars, at most 9 decimals")]

_MONEY_ERRORS = {
    "s402": "`budget_exhausted`: the debit exceeds what is left of the budget",
    "s409": "`idempotency_key_in_use`, or `conflict` when the budget already exists",
    "s422": "`idempotency_key_reused`: the key was sent with another request",
}


class CreateBudget(msgspec.Struct, forbid_unknown_fields=True):
    amount_usd: Usd
    period: Period
    low_balance_threshold_usd: Usd | None = None


class UpdateBudget(msgspec.Struct, forbid_unknown_fields=True):
    """Fields to change; absent fields keep their value, a null threshold clears it."""

    amount_usd: Usd | msgspec.UnsetType = msgspec.UNSET
    period: Period | msgspec.UnsetType = msgspec.UNSET
    low_balance_threshold_usd: Usd | msgspec.UnsetType | None = msgspec.UNSET
    is_suspended: bool | msgspec.UnsetType = msgspec.UNSET


class MoveMoney(msgspec.Struct, forbid_unknown_fields=True):
    amount_usd: Usd
    reason: Reason = ""


class BudgetOut(msgspec.Struct):
    end_user_id: str
    amount_usd: float
    period: str
    spent_usd: float
    remaining_usd: float
    reserved_usd: float
    available_usd: float
    granted_usd: float
    is_suspended: bool
    low_balance_threshold_usd: float | None
    period_start: str
    resets_at: str | None
    created_at: str
    updated_at: str


class TransactionOut(msgspec.Struct):
    id: str
    type: str
    amount_usd: float
    balance_after_usd: float
    reason: str
    request_id: str | None
    idempotency_key: str | None
    created_at: str


class MoveOut(msgspec.Struct):
    """The transaction a top-up or debit wrote, with the budget after it."""

    transaction: TransactionOut
    budget: BudgetOut


class TransactionList(Page[TransactionOut]):
    """A page of ledger entries, newest first."""


def budget_out(end_user_id: str, fields: dict[str, Any]) -> BudgetOut:
    """Render a script's budget fields; the same fields render the same body."""
    granted = int(fields["granted_nano"])
    spent = int(fields["spent_nano"])
    reserved = int(fields["reserved_nano"])
    resets_at = int(fields["resets_at_ms"])
    return BudgetOut(
        end_user_id=end_user_id,
        amount_usd=usd(fields["amount_nano"]),
        period=fields["period"],
        spent_usd=usd(spent),
        remaining_usd=usd(granted - spent),
        reserved_usd=usd(reserved),
        available_usd=usd(max(granted - spent - reserved, 0)),
        granted_usd=usd(granted),
        is_suspended=fields["suspended"] == "1",
        low_balance_threshold_usd=usd_or_none(fields["threshold_nano"]),
        period_start=iso_ms(int(fields["period_start_ms"])),
        resets_at=iso_ms_or_none(resets_at or None),
        created_at=iso_ms(int(fields["created_at_ms"])),
        updated_at=iso_ms(int(fields["updated_at_ms"])),
    )


def transaction_out(fields: dict[str, Any]) -> TransactionOut:
    return TransactionOut(
        id=fields["id"],
        type=fields["type"],
        amount_usd=usd(fields["amount_nano"]),
        balance_after_usd=usd(fields["balance_after_nano"]),
        reason=fields.get("reason") or "",
        request_id=fields.get("request_id") or None,
        idempotency_key=fields.get("idempotency_key") or None,
        created_at=iso_ms(int(fields["created_at"])),
    )


def transaction_page(entries: list[LedgerEntry], has_more: bool) -> TransactionList:
    return TransactionList(
        data=[transaction_out(entry.fields) for entry in entries],
        has_more=has_more,
        next_cursor=entries[-1].cursor if has_more and entries else None,
    )


def check_stream_cursor(cursor: str | None) -> str | None:
    """A ledger cursor is a stream entry id such as `1717000000000-0`."""
    if cursor is None:
        return None
    head, _, tail = cursor.partition("-")
    if not (head.isdigit() and tail.isdigit() and len(cursor) <= 41):
        raise InvalidRequest("cursor is not a value returned as next_cursor", param="cursor")
    return cursor


def _store(tenant: Tenant, ctx: AppContext) -> BudgetStore:
    return BudgetStore(ctx.redis, tenant.platform_id, clock_flag(ctx.settings))


def _check_end_user(end_user_id: str) -> None:
    if not is_id(end_user_id, "eu"):
        raise ApiError("not_found", f"end user {end_user_id[:64]} not found")


def _answer(
    request: Request[Any, Any, Any],
    end_user_id: str,
    result: dict[str, Any],
    *,
    request_id: str | None = None,
    replayed: bool = False,
) -> Response[Any]:
    """The response of a budget script's result: an error envelope or the budget."""
    status = int(result["status"])
    if status >= 400:
        return idempotency.error_response(request, result, request_id, replayed)
    budget = budget_out(end_user_id, result)
    if "transaction" in result:
        content: Any = MoveOut(transaction=transaction_out(result["transaction"]), budget=budget)
    else:
        content = budget
    return idempotency.json_response(status, content, replayed)


async def _idempotent(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    tenant: Tenant,
    end_user_id: str,
    *,
    body: Any,
    run: Any,
) -> Response[Any]:
    """Claim the Idempotency-Key, run the money script `run(claim)`, answer its result."""
    claimed = await idempotency.claim(request, ctx.redis, tenant.platform_id, body)
    if isinstance(claimed, Replay):
        return _answer(
            request, end_user_id, claimed.result, request_id=claimed.request_id, replayed=True
        )
    claim: Claim = claimed
    try:
        result = await run(claim)
    except BaseException:
        await idempotency.abandon(ctx.redis, claim)
        raise
    if result.get("code") == "idempotency_key_in_use":
        raise idempotency.in_use()
    return _answer(request, end_user_id, result)


@post(
    "/",
    summary="Create a budget",
    operation_id="createBudget",
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, **_MONEY_ERRORS),
    security=SECURITY,
    opt={"body": CreateBudget},
)
async def create_budget(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> Response[BudgetOut]:
    """Give the end user a budget of `amount_usd` per period."""
    _check_end_user(end_user_id)
    raw = await request.body()
    body = decode_json(raw, CreateBudget)
    amount = nanos_from_usd(body.amount_usd, "amount_usd", allow_zero=True)
    threshold = -1
    if body.low_balance_threshold_usd is not None:
        threshold = nanos_from_usd(
            body.low_balance_threshold_usd, "low_balance_threshold_usd", allow_zero=True
        )
    store = _store(tenant, ctx)
    request_id = request_id_of(request)

    async def run(claim: Claim) -> dict[str, Any]:
        return await store.create(
            end_user_id,
            request_id,
            claim,
            amount_nano=amount,
            period=body.period,
            threshold_nano=threshold,
        )

    return await _idempotent(
        request, ctx, tenant, end_user_id, body=msgspec.to_builtins(body), run=run
    )


@get(
    "/",
    summary="Get a budget",
    operation_id="getBudget",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_budget(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> Response[BudgetOut]:
    """The budget with this period's spending; a due reset is applied first."""
    _check_end_user(end_user_id)
    result = await _store(tenant, ctx).read(end_user_id, request_id_of(request))
    return _answer(request, end_user_id, result)


@patch(
    "/",
    summary="Update a budget",
    operation_id="updateBudget",
    responses=error_responses(400, 401, 403, 404, 413),
    security=SECURITY,
    opt={"body": UpdateBudget},
)
async def update_budget(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> Response[BudgetOut]:
    """Change the amount, period, threshold or suspension; absent fields stay."""
    _check_end_user(end_user_id)
    body = decode_json(await request.body(), UpdateBudget)
    amount = None
    if body.amount_usd is not msgspec.UNSET:
        amount = nanos_from_usd(body.amount_usd, "amount_usd", allow_zero=True)
    threshold = None
    if body.low_balance_threshold_usd is None:
        threshold = -1
    elif body.low_balance_threshold_usd is not msgspec.UNSET:
        threshold = nanos_from_usd(
            body.low_balance_threshold_usd, "low_balance_threshold_usd", allow_zero=True
        )
    result = await _store(tenant, ctx).update(
        end_user_id,
        request_id_of(request),
        amount_nano=amount,
        period=None if body.period is msgspec.UNSET else body.period,
        threshold_nano=threshold,
        suspended=None if body.is_suspended is msgspec.UNSET else body.is_suspended,
    )
    return _answer(request, end_user_id, result)


async def _move(
    kind: str, tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> Response[MoveOut]:
    _check_end_user(end_user_id)
    body = decode_json(await request.body(), MoveMoney)
    amount = nanos_from_usd(body.amount_usd, "amount_usd")
    store = _store(tenant, ctx)
    request_id = request_id_of(request)

    async def run(claim: Claim) -> dict[str, Any]:
        return await store.adjust(
            end_user_id, request_id, claim, kind=kind, amount_nano=amount, reason=body.reason
        )

    return await _idempotent(
        request, ctx, tenant, end_user_id, body=msgspec.to_builtins(body), run=run
    )


@post(
    "/topup",
    summary="Top up a budget",
    operation_id="topUpBudget",
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, **_MONEY_ERRORS),
    security=SECURITY,
    opt={"body": MoveMoney},
)
async def topup_budget(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> Response[MoveOut]:
    """Add `amount_usd` to this period's allowance; it ends at the next reset."""
    return await _move("topup", tenant, ctx, request, end_user_id)


@post(
    "/debit",
    summary="Debit a budget",
    operation_id="debitBudget",
    status_code=201,
    responses=error_responses(400, 401, 402, 403, 404, 409, 413, 422, **_MONEY_ERRORS),
    security=SECURITY,
    opt={"body": MoveMoney},
)
async def debit_budget(
    tenant: Tenant, ctx: AppContext, request: Request[Any, Any, Any], end_user_id: str
) -> Response[MoveOut]:
    """Take `amount_usd` from the budget; 402 when less than that is left."""
    return await _move("debit", tenant, ctx, request, end_user_id)


@get(
    "/transactions",
    summary="List budget transactions",
    operation_id="listBudgetTransactions",
    responses=error_responses(400, 401, 403, 404),
    security=SECURITY,
)
async def list_budget_transactions(
    *,
    tenant: Tenant,
    ctx: AppContext,
    request: Request[Any, Any, Any],
    end_user_id: str,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response[TransactionList]:
    """The budget's ledger, newest first; the amounts sum to the balance."""
    _check_end_user(end_user_id)
    after = check_stream_cursor(cursor)
    store = _store(tenant, ctx)
    found = await store.read(end_user_id, request_id_of(request))
    if int(found["status"]) >= 400:
        return idempotency.error_response(request, found)
    entries, has_more = await store.ledger_page(end_user_id, limit, after)
    return Response(transaction_page(entries, has_more))


router = Router(
    path="/v1/platforms/{platform_id:str}/end-users/{end_user_id:str}/budget",
    route_handlers=[
        create_budget,
        get_budget,
        update_budget,
        topup_budget,
        debit_budget,
        list_budget_transactions,
    ],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["Budgets"],
)
