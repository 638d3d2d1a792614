"""Listing request logs: each filter, their composition, limits and invalid parameters.

Entries are written with the data plane's own append script (see
`tests/fixtures/logs.py`) so each test controls every field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from control_plane import native
from tests.fixtures.inference import Caller, TenancyWriter
from tests.fixtures.logs import Logs, LogScript
from tests.fixtures.tenancy import assert_error

HOUR_MS = 3_600_000


def ids(page: dict[str, object]) -> list[str]:
    data = page["data"]
    assert isinstance(data, list)
    return [entry["request_id"] for entry in data]


def iso_ms(ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, as the API writes times."""
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_list_is_newest_first(caller: Caller, log_script: LogScript, logs: Logs) -> None:
    written = [log_script.append(caller.platform_id)[1] for _ in range(3)]
    page = logs.list(caller)
    assert ids(page) == written[::-1]
    assert page["has_more"] is False
    assert page["next_cursor"] is None


def test_end_user_filter_returns_only_theirs(
    caller: Caller, tenancy: TenancyWriter, log_script: LogScript, logs: Logs
) -> None:
    other_id = tenancy.end_user(caller.platform_id)[0]
    first = log_script.append(caller.platform_id, end_user_id=caller.end_user_id)[1]
    log_script.append(caller.platform_id, end_user_id=other_id)
    log_script.append(caller.platform_id)
    second = log_script.append(caller.platform_id, end_user_id=caller.end_user_id)[1]
    page = logs.list(caller, end_user_id=caller.end_user_id)
    assert ids(page) == [second, first]
    assert page["has_more"] is False
    assert [entry["end_user_id"] for entry in page["data"]] == [caller.end_user_id] * 2


def test_end_user_filter_reads_their_index_not_the_platform_log(
    caller: Caller, log_script: LogScript, logs: Logs
) -> None:
    # One old entry of the end user under 1,500 newer entries of nobody: more than a
    # filtered page may scan, so only the end user's index can find it in one page.
    mine = log_script.append(caller.platform_id, end_user_id=caller.end_user_id)[1]
    log_script.append_many(caller.platform_id, [{} for _ in range(1_500)])
    page = logs.list(caller, end_user_id=caller.end_user_id, limit=10)
    assert ids(page) == [mine]
    assert page["has_more"] is False


def test_model_filter(caller: Caller, log_script: LogScript, logs: Logs) -> None:
    mini = log_script.append(caller.platform_id, model="gpt-4o-mini")[1]
    log_script.append(caller.platform_id, model="grok-3", provider="xai")
    page = logs.list(caller, model="gpt-4o-mini")
    assert ids(page) == [mini]
    assert logs.list(caller, model="no-such-model")["data"] == []


@pytest.fixture
def statuses(caller: Caller, log_script: LogScript) -> dict[str, str]:
    """One entry per outcome, by name, written oldest first in this order."""
    outcomes = {
        "served": {"status_code": 200},
        "stream_failed": {"status_code": 200, "error_code": "upstream_timeout", "stream": 1},
        "wallet": {"status_code": 402, "error_code": "wallet_insufficient"},
        "rate": {"status_code": 429, "error_code": "rate_limited"},
        "disconnected": {"status_code": 499},
        "upstream": {"status_code": 502, "error_code": "upstream_error"},
    }
    return {
        name: log_script.append(caller.platform_id, **fields)[1]
        for name, fields in outcomes.items()
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("200", ["stream_failed", "served"]),
        ("402", ["wallet"]),
        ("4xx", ["disconnected", "rate", "wallet"]),
        ("5xx", ["upstream"]),
        ("402,429", ["rate", "wallet"]),
        ("error", ["upstream", "disconnected", "rate", "wallet", "stream_failed"]),
        ("2xx,502", ["upstream", "stream_failed", "served"]),
    ],
)
def test_status_filter(
    caller: Caller, logs: Logs, statuses: dict[str, str], status: str, expected: list[str]
) -> None:
    page = logs.list(caller, status=status)
    assert ids(page) == [statuses[name] for name in expected]


def test_time_range_is_start_inclusive_end_exclusive(
    caller: Caller, log_script: LogScript, logs: Logs, redis_client: redis.Redis
) -> None:
    clock = native.redis_key("test_clock", caller.platform_id)
    base = native.id_millis(native.new_id("t")) or 0
    times = [base - 3 * HOUR_MS, base - 2 * HOUR_MS, base - HOUR_MS]
    written = []
    for moment in times:
        redis_client.set(clock, moment)
        written.append(log_script.append(caller.platform_id)[1])
    created = [entry["created_at"] for entry in logs.list(caller)["data"]]
    assert created == [iso_ms(moment) for moment in times[::-1]]
    assert ids(logs.list(caller, start=iso_ms(times[1]))) == [written[2], written[1]]
    assert ids(logs.list(caller, end=iso_ms(times[1]))) == [written[0]]
    assert ids(logs.list(caller, start=iso_ms(times[0] + 1), end=iso_ms(times[2]))) == [written[1]]


def test_time_accepts_offsets_and_dates(
    caller: Caller, log_script: LogScript, logs: Logs, redis_client: redis.Redis
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    midnight = datetime(yesterday.year, yesterday.month, yesterday.day, tzinfo=UTC)
    redis_client.set(
        native.redis_key("test_clock", caller.platform_id), int(midnight.timestamp() * 1000)
    )
    written = log_script.append(caller.platform_id)[1]
    day = yesterday.isoformat()
    before, after = (yesterday - timedelta(days=1)).isoformat(), (yesterday + timedelta(days=1))
    assert ids(logs.list(caller, start=f"{day}T01:00:00+01:00")) == [written]
    assert ids(logs.list(caller, start=f"{day}T00:00:00.001")) == []
    assert ids(logs.list(caller, start=before, end=day)) == []
    assert ids(logs.list(caller, start=day, end=after.isoformat())) == [written]


def test_filters_compose(
    caller: Caller,
    tenancy: TenancyWriter,
    log_script: LogScript,
    logs: Logs,
    redis_client: redis.Redis,
) -> None:
    other_id = tenancy.end_user(caller.platform_id)[0]
    clock = native.redis_key("test_clock", caller.platform_id)
    base = (native.id_millis(native.new_id("t")) or 0) - 10 * HOUR_MS
    redis_client.set(clock, base)
    eu = caller.end_user_id
    log_script.append(caller.platform_id, end_user_id=eu, model="gpt-4o-mini", status_code=429)
    redis_client.set(clock, base + HOUR_MS)
    wanted = log_script.append(
        caller.platform_id, end_user_id=eu, model="gpt-4o-mini", status_code=429
    )[1]
    log_script.append(caller.platform_id, end_user_id=eu, model="gpt-4o-mini", status_code=200)
    log_script.append(caller.platform_id, end_user_id=eu, model="grok-3", status_code=429)
    log_script.append(
        caller.platform_id, end_user_id=other_id, model="gpt-4o-mini", status_code=429
    )
    page = logs.list(
        caller, end_user_id=eu, model="gpt-4o-mini", status="4xx", start=iso_ms(base + HOUR_MS)
    )
    assert ids(page) == [wanted]


def test_default_limit_is_fifty(caller: Caller, log_script: LogScript, logs: Logs) -> None:
    log_script.append_many(caller.platform_id, [{} for _ in range(51)])
    page = logs.list(caller)
    assert len(page["data"]) == 50
    assert page["has_more"] is True
    assert page["next_cursor"] is not None


def test_filtered_page_stops_after_max_scanned(
    caller: Caller, log_script: LogScript, logs: Logs
) -> None:
    wanted = log_script.append(caller.platform_id, model="grok-3")[1]
    written = log_script.append_many(caller.platform_id, [{} for _ in range(1_200)])
    first = logs.list(caller, model="grok-3")
    assert first["data"] == []
    assert first["has_more"] is True
    # The page read the 1,000 newest entries; the cursor continues after them.
    assert first["next_cursor"] == written[-1_000][0]
    second = logs.list(caller, model="grok-3", cursor=first["next_cursor"])
    assert ids(second) == [wanted]
    assert second["has_more"] is False


def test_filtered_page_with_more_matches_continues(
    caller: Caller, log_script: LogScript, logs: Logs
) -> None:
    written = [log_script.append(caller.platform_id, status_code=402)[1] for _ in range(3)]
    log_script.append_many(caller.platform_id, [{} for _ in range(5)])
    first = logs.list(caller, status="402", limit=2)
    assert ids(first) == [written[2], written[1]]
    assert first["has_more"] is True
    second = logs.list(caller, status="402", limit=2, cursor=first["next_cursor"])
    assert ids(second) == [written[0]]
    assert second["has_more"] is False


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2025-13-01T00:00:00Z"}, "end"),
        ({"start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}, "end"),
        ({"status": "ok"}, "status"),
        ({"status": "600"}, "status"),
        ({"status": "200,"}, "status"),
        ({"cursor": "req_123"}, "cursor"),
        ({"end_user_id": "user-1"}, "end_user_id"),
        ({"model": "m" * 201}, "model"),
    ],
)
def test_invalid_parameter_names_it(
    caller: Caller, logs: Logs, params: dict[str, str], param: str
) -> None:
    assert_error(logs.request(caller, **params), 400, "invalid_request", param)
