"""Retries, backoff and idempotency keys, against a local HTTP server that responds from a script.

The server records every request it receives, so each test checks how many
copies of a call were sent and with which headers. Waits between attempts are
recorded instead of slept, so the tests also see the delay each retry used.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

import assistiv._client
from assistiv import (
    AssistivConnectionError,
    AssistivError,
    AssistivRateLimitError,
)

from conftest import Flavour

PLATFORM = "plat_retry"
END_USER = "eu_retry"
NOW = "2026-01-31T09:30:00.125Z"
BUDGET = {
    "end_user_id": END_USER,
    "amount_usd": 10,
    "period": "monthly",
    "granted_usd": 15,
    "spent_usd": 0,
    "remaining_usd": 15,
    "reserved_usd": 0,
    "available_usd": 15,
    "is_suspended": False,
    "low_balance_threshold_usd": None,
    "period_start": NOW,
    "resets_at": NOW,
    "created_at": NOW,
    "updated_at": NOW,
}
TOPUP = {
    "transaction": {
        "id": "txn_1",
        "type": "topup",
        "amount_usd": 5,
        "balance_after_usd": 15,
        "reason": "",
        "request_id": "req_1",
        "idempotency_key": None,
        "created_at": NOW,
    },
    "budget": BUDGET,
}
END_USER_BODY = {
    "id": END_USER,
    "external_id": "x",
    "display_name": None,
    "metadata": {},
    "created_at": NOW,
}
CREATED_KEY = {
    "id": "key_1",
    "name": None,
    "key_prefix": "sk-plat_abcdef",
    "raw_key": "sk-plat_" + "a" * 43,
    "created_at": NOW,
}
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
}
DISCONNECT = "disconnect"


@dataclass
class Reply:
    """One scripted response; `status` DISCONNECT closes the connection without a response."""

    status: int | str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, **headers: str) -> Reply:
    envelope = {"message": f"scripted {code}", "type": "api_error", "code": code}
    return Reply(status, {"error": {**envelope, "param": None, "request_id": "req_x"}}, headers)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1 that responds to each request with the next reply."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.received = []

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            if not self.replies:
                return error(500, "script_exhausted")
            return self.replies.pop(0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = server._next(Received(self.command, self.path, headers, body))
                if reply.status == DISCONNECT:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                content = json.dumps(reply.body).encode() if reply.body is not None else b""
                self.send_response(int(reply.status))
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                self.send_header("x-request-id", "req_scripted")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the clients wait before retries, recorded instead of slept."""
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(assistiv._client, "time", SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(assistiv._client, "anyio", SimpleNamespace(sleep=async_sleep))
    return recorded


def client_of(flavour: Flavour, scripted: ScriptedServer, **options: Any) -> Any:
    options.setdefault("platform_id", PLATFORM)
    return flavour.client("sk-plat_" + "k" * 43, base_url=scripted.url, **options)


def idempotency_keys(scripted: ScriptedServer) -> list[str | None]:
    return [request.headers.get("idempotency-key") for request in scripted.received]


def test_429_retried_after_retry_after_with_same_key(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(429, "rate_limited", **{"retry-after": "3"}), Reply(201, TOPUP))
    client = client_of(flavour, scripted)
    change = flavour.run(client.budgets.topup(END_USER, amount_usd=5))
    assert change.transaction.id == "txn_1"
    assert waits == [3.0]
    keys = idempotency_keys(scripted)
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert keys[0] is not None
    assert uuid.UUID(keys[0]).version == 4


def test_503_retried_with_callers_key(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(503, "not_ready"), Reply(201, TOPUP))
    client = client_of(flavour, scripted)
    flavour.run(client.budgets.topup(END_USER, amount_usd=5, idempotency_key="stipend-2025-07"))
    assert idempotency_keys(scripted) == ["stipend-2025-07", "stipend-2025-07"]
    assert len(waits) == 1
    assert 0.25 <= waits[0] <= 0.5
    assert [request.path for request in scripted.received] == [
        f"/v1/platforms/{PLATFORM}/end-users/{END_USER}/budget/topup"
    ] * 2


def test_each_money_call_gets_its_own_key(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(Reply(201, TOPUP), Reply(201, TOPUP), Reply(201, BUDGET))
    client = client_of(flavour, scripted)
    flavour.run(client.budgets.topup(END_USER, amount_usd=5))
    flavour.run(client.budgets.debit(END_USER, amount_usd=5))
    flavour.run(client.budgets.create(END_USER, amount_usd=10, period="monthly"))
    keys = idempotency_keys(scripted)
    assert len(set(keys)) == 3
    assert None not in keys


def test_keyed_post_retried_after_disconnect(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(Reply(DISCONNECT), Reply(201, TOPUP))
    client = client_of(flavour, scripted)
    flavour.run(client.budgets.debit(END_USER, amount_usd=5))
    keys = idempotency_keys(scripted)
    assert len(keys) == 2
    assert keys[0] == keys[1]


def test_key_in_use_conflict_retried(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(409, "idempotency_key_in_use"), Reply(201, TOPUP))
    client = client_of(flavour, scripted)
    flavour.run(client.budgets.topup(END_USER, amount_usd=5))
    assert len(scripted.received) == 2


def test_other_conflict_not_retried(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(409, "conflict"), Reply(201, BUDGET))
    client = client_of(flavour, scripted)
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.budgets.create(END_USER, amount_usd=1, period="daily"))
    assert caught.value.code == "conflict"
    assert len(scripted.received) == 1


def test_create_not_retried_on_503(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(503, "not_ready"), Reply(201, CREATED_KEY))
    client = client_of(flavour, scripted)
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.api_keys.create(name="ci"))
    assert caught.value.status == 503
    assert caught.value.code == "not_ready"
    assert len(scripted.received) == 1
    assert waits == []
    assert idempotency_keys(scripted) == [None]


def test_create_not_retried_after_disconnect(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(Reply(DISCONNECT), Reply(201, CREATED_KEY))
    client = client_of(flavour, scripted)
    with pytest.raises(AssistivConnectionError):
        flavour.run(client.end_users.create(external_id="x"))
    assert len(scripted.received) == 1


def test_create_retried_on_429(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(
        error(429, "rate_limited", **{"retry-after-ms": "1500"}), Reply(201, CREATED_KEY)
    )
    client = client_of(flavour, scripted)
    created = flavour.run(client.api_keys.create())
    assert created.id == "key_1"
    assert len(scripted.received) == 2
    assert waits == [1.5]


def test_inference_retried_on_502_not_after_disconnect(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    client = client_of(flavour, scripted, platform_id=None)
    messages = [{"role": "user", "content": "hi"}]
    scripted.script(error(502, "upstream_error"), Reply(200, COMPLETION))
    completion = flavour.run(client.chat.completions.create(model="gpt-4o-mini", messages=messages))
    assert completion.choices[0].message.content == "hi"
    assert len(scripted.received) == 2

    scripted.script(Reply(DISCONNECT), Reply(200, COMPLETION))
    with pytest.raises(AssistivConnectionError):
        flavour.run(client.chat.completions.create(model="gpt-4o-mini", messages=messages))
    assert len(scripted.received) == 1


def test_get_retried_on_503(flavour: Flavour, scripted: ScriptedServer, waits: list[float]) -> None:
    scripted.script(
        error(503, "not_ready"), error(500, "internal_error"), Reply(200, END_USER_BODY)
    )
    client = client_of(flavour, scripted)
    found = flavour.run(client.end_users.get(END_USER))
    assert found.id == END_USER
    assert len(scripted.received) == 3
    assert len(waits) == 2
    assert 0.5 <= waits[1] <= 1.0


def test_max_retries_bounds_attempts(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(*[error(503, "not_ready")] * 5)
    client = client_of(flavour, scripted, max_retries=3)
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.end_users.get(END_USER))
    assert caught.value.status == 503
    assert len(scripted.received) == 4
    assert len(waits) == 3


def test_long_retry_after_raised_at_once(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(429, "rate_limited", **{"retry-after": "3600"}), Reply(200, COMPLETION))
    client = client_of(flavour, scripted, platform_id=None)
    with pytest.raises(AssistivRateLimitError) as caught:
        flavour.run(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        )
    assert caught.value.retry_after == 3600.0
    assert caught.value.request_id == "req_x"
    assert len(scripted.received) == 1
    assert waits == []


def test_no_retries_when_max_retries_zero(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(error(503, "not_ready"), Reply(200, END_USER_BODY))
    client = client_of(flavour, scripted, max_retries=0)
    with pytest.raises(AssistivError):
        flavour.run(client.end_users.get(END_USER))
    assert len(scripted.received) == 1


def test_connect_failure_retried_then_raised(flavour: Flavour, waits: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = flavour.client(
        "sk-plat_" + "k" * 43, base_url=f"http://127.0.0.1:{closed_port}", platform_id=PLATFORM
    )
    with pytest.raises(AssistivConnectionError) as caught:
        flavour.run(client.api_keys.create())
    assert caught.value.status is None
    assert caught.value.code == "connection_error"
    assert len(waits) == 2


def test_non_json_error_body_becomes_error(
    flavour: Flavour, scripted: ScriptedServer, waits: list[float]
) -> None:
    scripted.script(Reply(418, "teapot"))
    client = client_of(flavour, scripted)
    with pytest.raises(AssistivError) as caught:
        flavour.run(client.end_users.get(END_USER))
    assert caught.value.status == 418
    assert caught.value.code is None
    assert caught.value.request_id == "req_scripted"
    assert caught.value.message.startswith("HTTP 418")
