"""Timestamps: Unix milliseconds in Redis, ISO 8601 with milliseconds in JSON."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    """The current time in Unix milliseconds."""
    return int(time.time() * 1000)


def iso_ms(unix_ms: int) -> str:
    """Format Unix milliseconds as ISO 8601 in UTC, such as `2025-01-31T09:30:00.125Z`."""
    moment = datetime.fromtimestamp(unix_ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{unix_ms % 1000:03d}Z"


def iso_ms_or_none(unix_ms: int | None) -> str | None:
    return None if unix_ms is None else iso_ms(unix_ms)
