"""Retention: entries past the window are hidden at once and trimmed by later writes.

The session gateway runs with the `test_clock` setting on, so the append
script and the logs API read "now" from the platform's test-clock key.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import redis

from control_plane import native
from tests.conftest import GatewayFactory
from tests.fixtures.inference import Caller
from tests.fixtures.logs import Logs, LogScript
from tests.fixtures.tenancy import assert_error
from tests.harness import Gateway

DAY_MS = 86_400_000
T0 = int(datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)
# The most entries one stream node holds with Redis's default stream-node-max-entries.
NODE_ENTRIES = 100


def call(gateway: Gateway, caller: Caller) -> str:
    """Make one served call and return its request id."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with gateway.client() as client:
        response = client.post(
            "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {caller.end_user_key}"},
        )
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


def set_clock(client: redis.Redis, caller: Caller, ms: int) -> None:
    client.set(native.redis_key("test_clock", caller.platform_id), ms)


def test_write_trims_entries_past_retention(
    caller: Caller,
    gateway: Gateway,
    log_script: LogScript,
    logs: Logs,
    redis_client: redis.Redis,
) -> None:
    set_clock(redis_client, caller, T0)
    old = [{"end_user_id": caller.end_user_id} for _ in range(300)]
    log_script.append_many(caller.platform_id, old)
    old_call = call(gateway, caller)
    logs.wait_for(caller, old_call)
    stream = native.redis_key("log_stream", caller.platform_id)
    index = native.redis_key("end_user_log_index", caller.platform_id, caller.end_user_id)
    assert redis_client.xlen(stream) == 301
    assert redis_client.xlen(index) == 301

    set_clock(redis_client, caller, T0 + 30 * DAY_MS + 1)
    new_call = call(gateway, caller)
    entry = logs.wait_for(caller, new_call)

    assert entry["created_at"] == "2025-07-01T12:00:00.001Z"
    page = logs.list(caller)
    assert [listed["request_id"] for listed in page["data"]] == [new_call]
    assert logs.list(caller, end_user_id=caller.end_user_id)["data"] == page["data"]
    assert_error(logs.get(caller, old_call), 404, "not_found")
    # Trimming drops whole stream nodes: at most one node of expired entries stays.
    assert redis_client.xlen(stream) <= NODE_ENTRIES + 1
    assert redis_client.xlen(index) <= NODE_ENTRIES + 1
    assert redis_client.xrange(stream, "-", "+", count=1)[0][0] != f"{T0}-0"


def test_expired_entries_hidden_before_any_trim(
    caller: Caller, log_script: LogScript, logs: Logs, redis_client: redis.Redis
) -> None:
    set_clock(redis_client, caller, T0)
    _, request_id = log_script.append(caller.platform_id, end_user_id=caller.end_user_id)

    set_clock(redis_client, caller, T0 + 30 * DAY_MS)
    assert [entry["request_id"] for entry in logs.list(caller)["data"]] == [request_id]
    assert logs.get(caller, request_id).status_code == 200

    set_clock(redis_client, caller, T0 + 30 * DAY_MS + 1)
    assert logs.list(caller)["data"] == []
    assert logs.list(caller, end_user_id=caller.end_user_id)["data"] == []
    assert_error(logs.get(caller, request_id), 404, "not_found")
    assert redis_client.xlen(native.redis_key("log_stream", caller.platform_id)) == 1


def test_retention_setting_applies_to_both_planes(
    caller: Caller, gateway_factory: GatewayFactory, redis_client: redis.Redis
) -> None:
    short = gateway_factory(ASSISTIV_LOG_RETENTION_DAYS="2", name="short-retention")
    set_clock(redis_client, caller, T0)
    request_id = call(short, caller)
    record = native.redis_key("log_request", caller.platform_id, request_id)
    headers = {"Authorization": f"Bearer {caller.platform_key}"}
    path = f"/v1/platforms/{caller.platform_id}/logs/{request_id}"
    with httpx.Client(base_url=short.url, timeout=30) as client:
        assert Logs(client).wait_for(caller, request_id)["request_id"] == request_id
        assert 2 * DAY_MS - 60_000 < redis_client.pttl(record) <= 2 * DAY_MS
        stream = native.redis_key("log_stream", caller.platform_id)
        assert 2 * DAY_MS - 60_000 < redis_client.pttl(stream) <= 2 * DAY_MS

        set_clock(redis_client, caller, T0 + 2 * DAY_MS + 1)
        assert_error(client.get(path, headers=headers), 404, "not_found")
