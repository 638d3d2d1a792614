"""Reading the request log that the data plane writes.

Each platform has one log stream (`log_stream`); a stream id such as
`1733318400123-0` is the Unix ms at which the entry was written, then a
sequence number. Each end user has a log index (`end_user_log_index`) whose
entries carry the same ids, and each request id a record that holds its
entry's id (`log_request`). The writer is the data plane's append script,
`native.log_append_script()`.

Lists are newest first (XREVRANGE). The cursor is the id of the last entry a
page returned, exclusive: entries written later get larger ids, so they never
shift a page, and trimming removes only the oldest entries. Filters on `model`
and `status` read the stream in batches and stop after `MAX_SCANNED` entries
per page, returning what matched so far with a cursor after the last entry
read. Entries older than the retention window are never returned, even in the
moments before the writer trims them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from control_plane import native

MS_PER_DAY = 86_400_000
# Most entries read for one page of a filtered list.
MAX_SCANNED = 1_000
# Entries read per round trip while filtering.
SCAN_BATCH = 200

_STREAM_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")


def parse_stream_id(value: str) -> tuple[int, int] | None:
    """Split a stream id into (ms, sequence), or return None when it is not one."""
    match = _STREAM_ID.match(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class StatusFilter:
    """Exact codes, classes (4 for `4xx`) and whether `error` was asked for."""

    codes: frozenset[int]
    classes: frozenset[int]
    errors: bool

    def matches(self, fields: dict[str, str]) -> bool:
        status = int(fields.get("status_code") or 0)
        if status in self.codes or status // 100 in self.classes:
            return True
        return self.errors and (status >= 400 or bool(fields.get("error_code")))


@dataclass(frozen=True)
class LogQuery:
    """One page request; bounds are Unix ms, `start` inclusive and `end` exclusive."""

    limit: int
    start_ms: int | None = None
    end_ms: int | None = None
    end_user_id: str | None = None
    model: str | None = None
    status: StatusFilter | None = None
    cursor: tuple[int, int] | None = None

    @property
    def filtered(self) -> bool:
        return self.model is not None or self.status is not None

    def matches(self, fields: dict[str, str]) -> bool:
        if self.model is not None and fields.get("model") != self.model:
            return False
        return self.status is None or self.status.matches(fields)


@dataclass(frozen=True)
class LogPage:
    entries: list[tuple[str, dict[str, str]]]
    has_more: bool
    next_cursor: str | None


def _format_id(stream_id: tuple[int, int]) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


class LogStore:
    """The request log of one platform."""

    def __init__(
        self, redis: aioredis.Redis, platform_id: str, retention_days: int, test_clock: bool
    ) -> None:
        self.redis = redis
        self.platform_id = platform_id
        self.retention_ms = retention_days * MS_PER_DAY
        self.test_clock = test_clock
        self.stream = native.redis_key("log_stream", platform_id)

    async def now_ms(self) -> int:
        """The current time: the platform's test clock when enabled and set, else this host's."""
        if self.test_clock:
            frozen = await self.redis.get(native.redis_key("test_clock", self.platform_id))
            if frozen is not None:
                return int(frozen)
        return int(time.time() * 1000)

    async def oldest_kept_ms(self) -> int:
        """The start of the retention window in Unix ms."""
        return max(await self.now_ms() - self.retention_ms, 0)

    async def get(self, request_id: str) -> tuple[str, dict[str, str]] | None:
        """The entry of `request_id` as (stream id, fields), or None."""
        stream_id = await self.redis.get(
            native.redis_key("log_request", self.platform_id, request_id)
        )
        if stream_id is None:
            return None
        found = await self.redis.xrange(self.stream, stream_id, stream_id, count=1)
        if not found:
            return None
        parsed = parse_stream_id(stream_id)
        if parsed is None or parsed[0] < await self.oldest_kept_ms():
            return None
        return found[0][0], found[0][1]

    async def list(self, query: LogQuery) -> LogPage:
        """One page of entries, newest first."""
        floor = await self.oldest_kept_ms()
        if query.start_ms is not None:
            floor = max(floor, query.start_ms)
        ceiling: tuple[int, int] | None = None  # exclusive
        if query.end_ms is not None:
            ceiling = (query.end_ms, 0)
        if query.cursor is not None and (ceiling is None or query.cursor < ceiling):
            ceiling = query.cursor
        if ceiling is not None and ceiling <= (floor, 0):
            return LogPage([], has_more=False, next_cursor=None)
        return await self._scan(query, floor, ceiling)

    async def _scan(self, query: LogQuery, floor: int, ceiling: tuple[int, int] | None) -> LogPage:
        matches: list[tuple[str, dict[str, str]]] = []
        scanned = 0
        last_read: str | None = None
        upper = "+" if ceiling is None else "(" + _format_id(ceiling)
        lower = f"{floor}-0"
        while True:
            if query.filtered:
                count = min(SCAN_BATCH, MAX_SCANNED - scanned)
            else:
                count = query.limit + 1 - len(matches)
            if count <= 0:
                # The scan budget is spent: hand back a cursor after the last entry read.
                return LogPage(matches, has_more=True, next_cursor=last_read)
            batch, read = await self._read(query.end_user_id, upper, lower, count)
            for stream_id, fields in batch:
                if fields is not None and query.matches(fields):
                    matches.append((stream_id, fields))
                    if len(matches) > query.limit:
                        page = matches[: query.limit]
                        return LogPage(page, has_more=True, next_cursor=page[-1][0])
            scanned += len(batch)
            if read < count:
                return LogPage(matches, has_more=False, next_cursor=None)
            last_read = batch[-1][0]
            upper = "(" + last_read

    async def _read(
        self, end_user_id: str | None, upper: str, lower: str, count: int
    ) -> tuple[list[tuple[str, dict[str, str] | None]], int]:
        """Read up to `count` entries below `upper`; returns them and how many ids were read.

        Through an end user's index, an id whose entry is gone (trimmed) comes
        back with None as its fields.
        """
        if end_user_id is None:
            found = await self.redis.xrevrange(self.stream, upper, lower, count=count)
            return [(stream_id, fields) for stream_id, fields in found], len(found)
        index = native.redis_key("end_user_log_index", self.platform_id, end_user_id)
        ids = [
            stream_id
            for stream_id, _ in await self.redis.xrevrange(index, upper, lower, count=count)
        ]
        entries = await self._entries(ids)
        return list(zip(ids, entries, strict=True)), len(ids)

    async def _entries(self, ids: Sequence[str]) -> list[dict[str, str] | None]:
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream_id in ids:
                pipe.xrange(self.stream, stream_id, stream_id, count=1)
            replies: list[Any] = await pipe.execute()
        return [reply[0][1] if reply else None for reply in replies]
