"""`logs`: one entry per inference call of the platform, newest first.

`list` follows cursors: iterate it and every matching entry arrives once,
however many pages that takes. `start` is inclusive and `end` exclusive; a
`datetime` without a time zone is taken as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from assistiv._base import Call, query
from assistiv._models import LogEntry, Page
from assistiv._pagination import AsyncPaginator, Paginator
from assistiv.resources._paths import platform_path

if TYPE_CHECKING:
    from assistiv._client import Assistiv, AsyncAssistiv


def _time(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _list(
    platform_id: str, filters: dict[str, str | int | None], cursor: str | None
) -> Call[Page[LogEntry]]:
    params = query(**filters, cursor=cursor)
    return Call("GET", platform_path(platform_id, "logs"), Page[LogEntry], params=params)


def _get(platform_id: str, request_id: str) -> Call[LogEntry]:
    return Call("GET", platform_path(platform_id, "logs", request_id), LogEntry)


def _filters(
    end_user_id: str | None,
    model: str | None,
    status: str | None,
    start: datetime | str | None,
    end: datetime | str | None,
    limit: int | None,
) -> dict[str, str | int | None]:
    return {
        "end_user_id": end_user_id,
        "model": model,
        "status": status,
        "start": _time(start),
        "end": _time(end),
        "limit": limit,
    }


class Logs:
    def __init__(self, client: Assistiv) -> None:
        self._client = client

    def list(
        self,
        *,
        end_user_id: str | None = None,
        model: str | None = None,
        status: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int | None = None,
    ) -> Paginator[LogEntry]:
        """List entries from `start` to `end`, newest first, fetching `limit` (1 to 100) per page.

        `status` takes a code (`402`), a class (`4xx`), `error`, or a comma-separated
        list of them.
        """
        filters = _filters(end_user_id, model, status, start, end, limit)

        def fetch(cursor: str | None) -> Page[LogEntry]:
            return self._client._request(_list(self._client._platform(), filters, cursor))

        return Paginator(fetch)

    def get(self, request_id: str) -> LogEntry:
        """Return the entry of the call whose `X-Request-Id` was `request_id`."""
        return self._client._request(_get(self._client._platform(), request_id))


class AsyncLogs:
    def __init__(self, client: AsyncAssistiv) -> None:
        self._client = client

    def list(
        self,
        *,
        end_user_id: str | None = None,
        model: str | None = None,
        status: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[LogEntry]:
        """List entries from `start` to `end`, newest first, fetching `limit` (1 to 100) per page.

        `status` takes a code (`402`), a class (`4xx`), `error`, or a comma-separated
        list of them.
        """
        filters = _filters(end_user_id, model, status, start, end, limit)

        async def fetch(cursor: str | None) -> Page[LogEntry]:
            platform_id = await self._client._platform()
            return await self._client._request(_list(platform_id, filters, cursor))

        return AsyncPaginator(fetch)

    async def get(self, request_id: str) -> LogEntry:
        """Return the entry of the call whose `X-Request-Id` was `request_id`."""
        return await self._client._request(_get(await self._client._platform(), request_id))
