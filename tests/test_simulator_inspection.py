"""The simulator's memory of requests: `GET` and `DELETE /_sim/requests`."""

from __future__ import annotations

import threading
import uuid

import httpx

from tests.fixtures.simulator import Simulator, SimulatorFactory, directive, fingerprint


def chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def test_request_recorded_with_body_and_fingerprinted_key(simulator: Simulator) -> None:
    tag = uuid.uuid4().hex
    body = chat(directive(tag=tag, text="ok"), temperature=0.5)
    response = httpx.post(
        f"{simulator.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": "Bearer sk-secret-value", "X-Custom": "kept"},
    )
    assert response.status_code == 200
    [entry] = simulator.requests(tag)
    assert entry["method"] == "POST"
    assert entry["path"] == "/v1/chat/completions"
    assert entry["query"] is None
    assert entry["provider"] == "openai"
    assert entry["body"] == body
    assert entry["status"] == 200
    assert entry["outcome"] == "completed"
    assert entry["headers"]["x-custom"] == "kept"
    assert entry["headers"]["authorization"] == "Bearer " + fingerprint("sk-secret-value")
    assert "sk-secret-value" not in str(entry)


def test_user_field_is_the_tag(simulator: Simulator) -> None:
    tag = f"user-{uuid.uuid4().hex}"
    httpx.post(f"{simulator.url}/v1/chat/completions", json=chat("hi", user=tag))
    entries = simulator.requests(tag)
    assert len(entries) == 1
    assert entries[0]["tag"] == tag


def test_requests_listed_newest_first_with_limit(simulator: Simulator) -> None:
    tag = uuid.uuid4().hex
    for text in ("first", "second", "third"):
        httpx.post(f"{simulator.url}/v1/chat/completions", json=chat(text, user=tag))
    entries = simulator.requests(tag, limit=2)
    assert [e["body"]["messages"][0]["content"] for e in entries] == ["third", "second"]


def test_wait_for_returns_when_request_arrives(simulator: Simulator) -> None:
    tag = uuid.uuid4().hex
    sender = threading.Thread(
        target=httpx.post,
        args=(f"{simulator.url}/v1/chat/completions",),
        kwargs={"json": chat(directive(tag=tag, latency_ms=50))},
    )
    sender.start()
    entries = simulator.requests(tag, wait_for=1)
    sender.join()
    assert len(entries) == 1


def test_clear_forgets_requests(simulator_factory: SimulatorFactory) -> None:
    own = simulator_factory()
    httpx.post(f"{own.url}/v1/chat/completions", json=chat("hi"))
    assert len(own.requests()) == 1
    own.clear()
    assert own.requests() == []


def test_record_limit_keeps_newest(simulator_factory: SimulatorFactory) -> None:
    own = simulator_factory(record_limit=2)
    for text in ("a", "b", "c"):
        httpx.post(f"{own.url}/v1/chat/completions", json=chat(text))
    assert [e["body"]["messages"][0]["content"] for e in own.requests()] == ["c", "b"]


def test_client_disconnect_recorded(simulator: Simulator) -> None:
    tag = uuid.uuid4().hex
    body = chat(directive(tag=tag, hang=1), stream=True)
    with (
        httpx.Client() as http,
        http.stream("POST", f"{simulator.url}/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        [entry] = simulator.requests(tag, wait_for=1)
        assert entry["outcome"] == "hung"
    assert wait_for_outcome(simulator, tag, "disconnected")


def wait_for_outcome(simulator: Simulator, tag: str, outcome: str) -> bool:
    """Poll the recorder until the request's outcome is `outcome`; the server ends it async."""
    for _ in range(200):
        if simulator.requests(tag)[0]["outcome"] == outcome:
            return True
        threading.Event().wait(0.02)
    return False


def test_unknown_simulator_path_is_404(simulator: Simulator) -> None:
    assert httpx.get(f"{simulator.url}/_sim/nothing").status_code == 404


def test_stop_releases_hung_requests(simulator_factory: SimulatorFactory) -> None:
    own = simulator_factory()
    errors: list[Exception] = []

    def send() -> None:
        try:
            httpx.post(
                f"{own.url}/v1/chat/completions", json=chat(directive(hang=True)), timeout=60
            )
        except httpx.HTTPError as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    [entry] = own.requests(wait_for=1)
    assert entry["outcome"] == "hung"
    own.stop()
    sender.join(timeout=30)
    assert not sender.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)
