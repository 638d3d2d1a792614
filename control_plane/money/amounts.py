"""USD amounts: decimal in JSON, integer nano-USD in Redis.

Amounts arrive as JSON numbers (or decimal strings) and are decoded exactly as
`Decimal`, so `0.123456789` is 123456789 nano-USD with no float rounding. They
leave as JSON numbers: a nano-USD integer divided by 10^9 is the closest double
to the decimal value, whose shortest representation is that decimal when it
has at most 15 significant digits, that is below 1,000,000 USD.

NOTE: a balance between 1,000,000 and the 9,000,000 USD cap can print one
nano-USD off, because 16 digits do not always survive a double. Redis keeps
the exact integer.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from control_plane.errors import InvalidRequest

NANOS_PER_USD = 1_000_000_000
USD_DECIMALS = 9
# Largest amount of one top-up, debit, credit or budget.
MAX_OPERATION_USD = Decimal(1_000_000)


def nanos_from_usd(value: Decimal, param: str, *, allow_zero: bool = False) -> int:
    """Convert a USD amount to nano-USD, or raise 400 naming `param`.

    The amount must be finite, positive (or zero with `allow_zero`), have at
    most 9 decimals and be at most `MAX_OPERATION_USD`.
    """
    try:
        finite = value.is_finite()
    except (AttributeError, InvalidOperation):
        finite = False
    if not finite:
        raise InvalidRequest(f"{param} must be a number of US dollars", param=param)
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise InvalidRequest(f"{param} must be {bound}", param=param)
    if value > MAX_OPERATION_USD:
        raise InvalidRequest(f"{param} must be at most {MAX_OPERATION_USD} USD", param=param)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -USD_DECIMALS:
        raise InvalidRequest(f"{param} allows at most {USD_DECIMALS} decimals", param=param)
    return int(value.scaleb(USD_DECIMALS))


def usd(nanos: int | str) -> float:
    """Format nano-USD as a USD number for JSON."""
    return int(nanos) / NANOS_PER_USD


def usd_or_none(nanos: int | str | None) -> float | None:
    """USD for a threshold stored as nano-USD, None for the -1 that means unset."""
    if nanos is None or int(nanos) < 0:
        return None
    return usd(nanos)
