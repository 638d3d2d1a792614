"""The append script the data plane runs for every entry, run directly."""

from __future__ import annotations

import redis

from control_plane import native
from tests.fixtures.inference import Caller
from tests.fixtures.logs import DEFAULT_RETENTION_MS, LogScript


def test_retried_append_writes_once(
    caller: Caller, log_script: LogScript, redis_client: redis.Redis
) -> None:
    first, request_id = log_script.append(caller.platform_id, end_user_id=caller.end_user_id)
    again, _ = log_script.append(
        caller.platform_id, request_id=request_id, end_user_id=caller.end_user_id
    )
    assert again == first
    stream = native.redis_key("log_stream", caller.platform_id)
    index = native.redis_key("end_user_log_index", caller.platform_id, caller.end_user_id)
    assert redis_client.xlen(stream) == 1
    assert redis_client.xlen(index) == 1


def test_index_entries_share_log_ids(
    caller: Caller, log_script: LogScript, redis_client: redis.Redis
) -> None:
    mine = [log_script.append(caller.platform_id, end_user_id=caller.end_user_id)[0]]
    log_script.append(caller.platform_id)
    mine.append(log_script.append(caller.platform_id, end_user_id=caller.end_user_id)[0])
    index = native.redis_key("end_user_log_index", caller.platform_id, caller.end_user_id)
    assert [entry_id for entry_id, _ in redis_client.xrange(index)] == mine
    assert [fields for _, fields in redis_client.xrange(index)] == [{"log": ""}, {"log": ""}]


def test_append_sets_retention_ttls(
    caller: Caller, log_script: LogScript, redis_client: redis.Redis
) -> None:
    _, request_id = log_script.append(caller.platform_id, end_user_id=caller.end_user_id)
    keys = [
        native.redis_key("log_stream", caller.platform_id),
        native.redis_key("end_user_log_index", caller.platform_id, caller.end_user_id),
        native.redis_key("log_request", caller.platform_id, request_id),
    ]
    for key in keys:
        assert DEFAULT_RETENTION_MS - 60_000 < redis_client.pttl(key) <= DEFAULT_RETENTION_MS


def test_clock_moved_back_keeps_ids_growing(
    caller: Caller, log_script: LogScript, redis_client: redis.Redis
) -> None:
    # A clock in 2096, past the server's time, then one in 2023, before it.
    clock = native.redis_key("test_clock", caller.platform_id)
    redis_client.set(clock, 4_000_000_000_000)
    later, _ = log_script.append(caller.platform_id)
    redis_client.set(clock, 1_700_000_000_000)
    earlier_clock, _ = log_script.append(caller.platform_id)
    assert later == "4000000000000-0"
    assert earlier_clock == "4000000000000-1"
