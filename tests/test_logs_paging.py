"""Cursor paging through a log that keeps growing, and lookup by request id."""

from __future__ import annotations

import threading

import httpx
import redis

from control_plane import native
from tests.fixtures.inference import Caller
from tests.fixtures.logs import Logs, LogScript
from tests.harness import Gateway


def test_paging_while_writers_add_skips_and_repeats_nothing(
    caller: Caller,
    gateway: Gateway,
    log_script: LogScript,
    logs: Logs,
    redis_client: redis.Redis,
) -> None:
    # Several entries share each millisecond, so cursors must order by sequence too.
    for _ in range(10):
        log_script.append_many(caller.platform_id, [{} for _ in range(1_000)])
    stop = threading.Event()
    statuses: list[int] = []

    def add_with_script() -> None:
        while not stop.is_set():
            log_script.append(caller.platform_id)

    def add_with_calls() -> None:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {caller.end_user_key}"}
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            while not stop.is_set():
                response = client.post("/v1/chat/completions", json=body, headers=headers)
                statuses.append(response.status_code)

    writers = [threading.Thread(target=add_with_script), threading.Thread(target=add_with_calls)]
    for writer in writers:
        writer.start()
    try:
        seen: list[str] = []
        for page in logs.pages(caller, limit=100):
            seen += [entry["request_id"] for entry in page["data"]]
    finally:
        stop.set()
        for writer in writers:
            writer.join()

    # Everything at or below the first page's newest entry, exactly once, newest first.
    stream = native.redis_key("log_stream", caller.platform_id)
    first_id = redis_client.get(native.redis_key("log_request", caller.platform_id, seen[0]))
    expected = [fields["request_id"] for _, fields in redis_client.xrevrange(stream, first_id)]
    assert set(statuses) == {200}
    # Writers kept adding after the first page was read.
    assert redis_client.xrange(stream, "(" + first_id) != []
    assert len(seen) == len(set(seen))
    assert len(seen) >= 10_000
    assert seen == expected


def test_lookup_by_request_id(caller: Caller, log_script: LogScript, logs: Logs) -> None:
    _, request_id = log_script.append(
        caller.platform_id, status_code=429, error_code="rate_limited"
    )
    response = logs.get(caller, request_id)
    assert response.status_code == 200
    entry = response.json()
    assert entry["request_id"] == request_id
    assert entry["status_code"] == 429
    assert entry["error_code"] == "rate_limited"
