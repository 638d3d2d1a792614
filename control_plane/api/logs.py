"""Request logs: `/v1/platforms/{platform_id}/logs`.

`GET .../logs` lists the platform's entries newest first, one page at a time;
`GET .../logs/{request_id}` returns one entry. Every inference call made with
one of the platform's keys has an entry: served, rejected (400, 402, 403, 404,
413, 429) or failed upstream. docs/logs.md describes each field and filter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Router, get
from litestar.params import Parameter

from control_plane.api.common import Cursor, is_id, iso_ms
from control_plane.api.openapi import SECURITY, error_responses
from control_plane.auth import PLATFORM_DEPENDENCIES, Tenant
from control_plane.context import AppContext
from control_plane.errors import InvalidRequest, NotFound
from control_plane.money.amounts import usd
from control_plane.store.logs import LogPage, LogQuery, LogStore, StatusFilter, parse_stream_id

DEFAULT_LOG_PAGE_SIZE = 50
MAX_LOG_PAGE_SIZE = 100
MAX_MODEL_LENGTH = 200


class LogEntryOut(msgspec.Struct):
    """One call. Tokens count as OpenAI counts them: input includes cached, output reasoning."""

    request_id: str
    created_at: str
    platform_id: str
    end_user_id: str | None
    key_id: str | None
    endpoint: str
    model: str | None
    provider: str | None
    stream: bool
    status_code: int
    error_code: str | None
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    usage_estimated: bool
    cost_usd: float
    charged_usd: float
    latency_ms: int
    time_to_first_token_ms: int | None
    upstream_latency_ms: int | None
    app: str | None
    tool: str | None


class LogList(msgspec.Struct):
    """A page of entries, newest first; pass `next_cursor` as `cursor` for the next one.

    A filtered page may hold fewer than `limit` entries, even none, while
    `has_more` is true: each page reads at most 1,000 entries.
    """

    data: list[LogEntryOut]
    has_more: bool
    next_cursor: str | None


def _text(fields: dict[str, str], name: str) -> str | None:
    return fields.get(name) or None


def _count(fields: dict[str, str], name: str) -> int:
    return int(fields.get(name) or 0)


def _millis(fields: dict[str, str], name: str) -> int | None:
    value = fields.get(name)
    return int(value) if value else None


def entry_out(platform_id: str, stream_id: str, fields: dict[str, str]) -> LogEntryOut:
    parsed = parse_stream_id(stream_id)
    written_ms = parsed[0] if parsed else 0
    return LogEntryOut(
        request_id=fields.get("request_id", ""),
        created_at=iso_ms(written_ms),
        platform_id=platform_id,
        end_user_id=_text(fields, "end_user_id"),
        key_id=_text(fields, "key_id"),
        endpoint=fields.get("endpoint", ""),
        model=_text(fields, "model"),
        provider=_text(fields, "provider"),
        stream=fields.get("stream") == "1",
        status_code=_count(fields, "status_code"),
        error_code=_text(fields, "error_code"),
        input_tokens=_count(fields, "input_tokens"),
        cached_input_tokens=_count(fields, "cached_input_tokens"),
        output_tokens=_count(fields, "output_tokens"),
        reasoning_tokens=_count(fields, "reasoning_tokens"),
        usage_estimated=fields.get("usage_estimated") == "1",
        cost_usd=usd(_count(fields, "cost_nano")),
        charged_usd=usd(_count(fields, "charged_nano")),
        latency_ms=_count(fields, "latency_ms"),
        time_to_first_token_ms=_millis(fields, "time_to_first_token_ms"),
        upstream_latency_ms=_millis(fields, "upstream_latency_ms"),
        app=_text(fields, "app"),
        tool=_text(fields, "tool"),
    )


def _store(tenant: Tenant, ctx: AppContext) -> LogStore:
    settings = ctx.settings
    return LogStore(ctx.redis, tenant.platform_id, settings.log_retention_days, settings.test_clock)


def parse_time(value: str, param: str) -> int:
    """Parse an ISO-8601 time into Unix ms; a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(
            f"{param} must be an ISO-8601 time such as 2025-01-31T09:30:00Z", param=param
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(int(moment.timestamp() * 1000), 0)


def parse_status(value: str) -> StatusFilter:
    """Parse `200`, `4xx`, `error` or a comma-separated list of them."""
    codes: set[int] = set()
    classes: set[int] = set()
    errors = False
    for raw in value.split(","):
        item = raw.strip().lower()
        if item == "error":
            errors = True
        elif len(item) == 3 and item.isdigit() and 100 <= int(item) <= 599:
            codes.add(int(item))
        elif len(item) == 3 and item[0] in "12345" and item[1:] == "xx":
            classes.add(int(item[0]))
        else:
            raise InvalidRequest(
                "status must be a status code (402), a class (4xx), `error`, "
                "or a comma-separated list of them",
                param="status",
            )
    return StatusFilter(frozenset(codes), frozenset(classes), errors)


def build_query(
    *,
    limit: int,
    start: str | None,
    end: str | None,
    end_user_id: str | None,
    model: str | None,
    status: str | None,
    cursor: str | None,
) -> LogQuery:
    """Check the list parameters; every invalid one is a 400 naming it."""
    start_ms = None if start is None else parse_time(start, "start")
    end_ms = None if end is None else parse_time(end, "end")
    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise InvalidRequest("end must not be earlier than start", param="end")
    if end_user_id is not None and not is_id(end_user_id, "eu"):
        raise InvalidRequest("end_user_id must be an end-user id (eu_…)", param="end_user_id")
    if model is not None and not 1 <= len(model) <= MAX_MODEL_LENGTH:
        raise InvalidRequest(f"model must be 1 to {MAX_MODEL_LENGTH} characters", param="model")
    parsed_cursor = None
    if cursor is not None:
        parsed_cursor = parse_stream_id(cursor)
        if parsed_cursor is None:
            raise InvalidRequest("cursor is not a value returned as next_cursor", param="cursor")
    return LogQuery(
        limit=limit,
        start_ms=start_ms,
        end_ms=end_ms,
        end_user_id=end_user_id,
        model=model,
        status=None if status is None else parse_status(status),
        cursor=parsed_cursor,
    )


def _page_out(platform_id: str, page: LogPage) -> LogList:
    return LogList(
        data=[entry_out(platform_id, stream_id, fields) for stream_id, fields in page.entries],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


LogLimit = Annotated[
    int,
    Parameter(
        ge=1,
        le=MAX_LOG_PAGE_SIZE,
        description="Page size, 1 to 100.",
        required=False,
    ),
]
TimeParam = Annotated[
    str | None,
    Parameter(description="ISO-8601 time; UTC when it has no offset.", required=False),
]


@get(
    "/",
    summary="List request logs",
    operation_id="listLogs",
    response_description="A page of log entries, newest first.",
    responses=error_responses(400, 401, 403, 404),
    security=SECURITY,
)
async def list_logs(
    tenant: Tenant,
    ctx: AppContext,
    *,
    limit: LogLimit = DEFAULT_LOG_PAGE_SIZE,
    cursor: Cursor = None,
    start: TimeParam = None,
    end: TimeParam = None,
    end_user_id: Annotated[
        str | None, Parameter(description="Only this end user's calls.", required=False)
    ] = None,
    model: Annotated[
        str | None, Parameter(description="Only calls to this model id.", required=False)
    ] = None,
    status: Annotated[
        str | None,
        Parameter(
            description="A status code (402), a class (4xx), `error`, or a comma-separated list.",
            required=False,
        ),
    ] = None,
) -> LogList:
    """Entries from `start` (inclusive) to `end` (exclusive), newest first."""
    query = build_query(
        limit=limit,
        start=start,
        end=end,
        end_user_id=end_user_id,
        model=model,
        status=status,
        cursor=cursor,
    )
    page = await _store(tenant, ctx).list(query)
    return _page_out(tenant.platform_id, page)


@get(
    "/{request_id:str}",
    summary="Get a request's log entry",
    operation_id="getLog",
    responses=error_responses(401, 403, 404),
    security=SECURITY,
)
async def get_log(tenant: Tenant, ctx: AppContext, request_id: str) -> LogEntryOut:
    """Return the entry whose `request_id` is the call's `X-Request-Id`."""
    found = await _store(tenant, ctx).get(request_id) if is_id(request_id, "req") else None
    if found is None:
        raise NotFound(f"no log entry for request {request_id[:64]}")
    stream_id, fields = found
    return entry_out(tenant.platform_id, stream_id, fields)


router = Router(
    path="/v1/platforms/{platform_id:str}/logs",
    route_handlers=[list_logs, get_log],
    dependencies=PLATFORM_DEPENDENCIES,
    tags=["Logs"],
)
