"""`assistiv-gateway wallet …`: credit and inspect platform wallets.

    wallet credit --platform ID --amount USD --reference REF [--reason TEXT]
    wallet show --platform ID

A credit is idempotent by its reference: running the same command again
credits nothing and prints the first credit. The same reference with another
amount fails.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import redis.asyncio as aioredis

from control_plane.cli import CommandError, command, output, registrar
from control_plane.commands.store import open_store
from control_plane.errors import InvalidRequest
from control_plane.money.amounts import nanos_from_usd, usd
from control_plane.money.clock import clock_flag
from control_plane.money.scripts import key
from control_plane.money.wallet import WalletStore
from control_plane.settings import Settings
from control_plane.store.tenancy import is_id
from control_plane.store.times import iso_ms

T = TypeVar("T")

_REFERENCE_MAX = 255
_REASON_MAX = 500


def _platform_id(raw: str) -> str:
    if not is_id(raw, "plat"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a platform id (plat_…)")
    return raw


def _amount(raw: str) -> int:
    try:
        return nanos_from_usd(Decimal(raw), "amount")
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an amount in USD") from None
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _reference(raw: str) -> str:
    if not 1 <= len(raw) <= _REFERENCE_MAX or not raw.isprintable():
        raise argparse.ArgumentTypeError(f"must be 1 to {_REFERENCE_MAX} printable characters")
    return raw


def _reason(raw: str) -> str:
    if len(raw) > _REASON_MAX:
        raise argparse.ArgumentTypeError(f"must be at most {_REASON_MAX} characters")
    return raw


@registrar
def _add_wallet(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    wallet = subparsers.add_parser(
        "wallet", parents=[common], help="credit and show platform wallets"
    )
    actions = wallet.add_subparsers(dest="wallet_command", required=True, metavar="ACTION")

    credit = actions.add_parser(
        "credit", parents=[common], help="credit a wallet, once per reference"
    )
    credit.add_argument(
        "--platform", required=True, type=_platform_id, metavar="ID", help="platform id"
    )
    credit.add_argument(
        "--amount",
        required=True,
        type=_amount,
        metavar="USD",
        help="amount in US dollars, more than 0 and at most 1000000, up to 9 decimals",
    )
    credit.add_argument(
        "--reference",
        required=True,
        type=_reference,
        metavar="REF",
        help="unique reference of the payment, such as an invoice id; "
        "a reference credits only once",
    )
    credit.add_argument("--reason", default="", type=_reason, help="text for the ledger entry")

    show = actions.add_parser("show", parents=[common], help="show a wallet's balance")
    show.add_argument(
        "--platform", required=True, type=_platform_id, metavar="ID", help="platform id"
    )


def _with_wallet(
    settings: Settings, platform_id: str, work: Callable[[WalletStore], Awaitable[T]]
) -> T:
    with open_store(settings) as (resolved, _):

        async def run() -> T:
            client = aioredis.Redis.from_url(
                str(resolved.redis_url),
                decode_responses=True,
                socket_timeout=5,
                socket_connect_timeout=2,
            )
            try:
                return await work(WalletStore(client, platform_id, clock_flag(resolved)))
            finally:
                await client.aclose()

        return asyncio.run(run())


def _transaction_json(platform_id: str, transaction: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": transaction["id"],
        "platform_id": platform_id,
        "type": transaction["type"],
        "amount_usd": usd(transaction["amount_nano"]),
        "balance_after_usd": usd(transaction["balance_after_nano"]),
        "reference": transaction["reference"],
        "reason": transaction["reason"],
        "created_at": iso_ms(int(transaction["created_at"])),
    }


def _credit(args: argparse.Namespace, settings: Settings) -> int:
    reply = _with_wallet(
        settings,
        args.platform,
        lambda store: store.credit(args.amount, args.reference, args.reason),
    )
    if reply.get("code") == "conflict":
        raise CommandError(
            f"reference {args.reference} already credited {usd(reply['amount_nano'])} USD; "
            "give a new reference to credit another amount"
        )
    if "code" in reply:
        raise CommandError(reply["message"])
    data = _transaction_json(args.platform, reply["transaction"])
    data["replayed"] = reply["replayed"]
    data["balance_usd"] = usd(reply["balance_nano"])
    if reply["replayed"]:
        text = (
            f"reference {args.reference} was already credited by {data['id']}; "
            f"nothing credited now. Balance: {data['balance_usd']} USD"
        )
    else:
        text = (
            f"credited {data['amount_usd']} USD to platform {args.platform} ({data['id']}). "
            f"Balance: {data['balance_usd']} USD"
        )
    output(args, data, text)
    return 0


async def _read_existing(store: WalletStore) -> dict[str, Any]:
    """Read the wallet, or raise CommandError when its platform does not exist."""
    if not await store.redis.exists(key("platform", store.platform_id)):
        raise CommandError(f"platform {store.platform_id} does not exist")
    return await store.read()


def _show(args: argparse.Namespace, settings: Settings) -> int:
    fields = _with_wallet(settings, args.platform, _read_existing)
    balance = int(fields["balance_nano"])
    reserved = int(fields["reserved_nano"])
    data = {
        "platform_id": args.platform,
        "balance_usd": usd(balance),
        "reserved_usd": usd(reserved),
        "available_usd": usd(max(balance - reserved, 0)),
    }
    output(
        args,
        data,
        f"balance {data['balance_usd']} USD, reserved by calls in flight "
        f"{data['reserved_usd']} USD",
    )
    return 0


@command("wallet")
def run_wallet(args: argparse.Namespace, settings: Settings) -> int:
    if args.wallet_command == "credit":
        return _credit(args, settings)
    return _show(args, settings)
