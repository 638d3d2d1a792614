"""Integer mirror of the money settings in a platform's settings JSON.

The scripts read `markup_bp`, the default budget and the low-balance
thresholds from the `money_settings` hash, never from the JSON, so the
settings write path queues `mirror_settings` in the same transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from control_plane import native
from control_plane.money.amounts import NANOS_PER_USD
from control_plane.money.scripts import key

_FIELDS = (
    "markup_bp",
    "default_amount_nano",
    "default_period",
    "budget_threshold_nano",
    "wallet_threshold_nano",
)


def _nanos(usd: Any) -> int:
    return int(Decimal(repr(usd)) * NANOS_PER_USD)


def money_fields(settings: dict[str, Any]) -> dict[str, str]:
    """The `money_settings` fields of a platform's settings; unset ones are absent."""
    fields = {"markup_bp": str(native.markup_bp(repr(settings.get("markup_percent") or 0)))}
    budget = settings.get("default_budget")
    if budget:
        fields["default_amount_nano"] = str(_nanos(budget["amount_usd"]))
        fields["default_period"] = budget["period"]
    if settings.get("low_balance_threshold_usd") is not None:
        fields["budget_threshold_nano"] = str(_nanos(settings["low_balance_threshold_usd"]))
    if settings.get("wallet_low_balance_threshold_usd") is not None:
        fields["wallet_threshold_nano"] = str(_nanos(settings["wallet_low_balance_threshold_usd"]))
    return fields


def mirror_settings(pipe: Any, platform_id: str, settings: dict[str, Any]) -> None:
    """Queue on `pipe` the rewrite of the platform's `money_settings` hash."""
    name = key("money_settings", platform_id)
    pipe.delete(name)
    pipe.hset(name, mapping=money_fields(settings))
