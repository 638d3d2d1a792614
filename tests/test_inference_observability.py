"""Metrics and logs of inference traffic: counts and ids, never secrets or prompts."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from tests.fixtures.inference import Caller, sdk_client
from tests.fixtures.simulator import directive
from tests.harness import Gateway, wait_until


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format; 0 when absent."""
    expected = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
        if found == expected:
            return float(match.group(3))
    return 0.0


def test_metrics_count_requests_and_errors(gateway: Gateway, llm: openai.OpenAI) -> None:
    before = httpx.get(f"{gateway.url}/metrics").text
    llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi\n" + directive(text="ok")}],
    )
    with sdk_client(gateway, "sk-eu_" + "B" * 43) as bad, pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )

    response = httpx.get(f"{gateway.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    ok = {"route": "chat_completions", "status": "200"}
    assert (
        sample(after, "assistiv_requests_total", **ok)
        == sample(before, "assistiv_requests_total", **ok) + 1
    )
    denied = {"code": "invalid_api_key"}
    assert sample(after, "assistiv_errors_total", **denied) >= 1
    assert sample(after, "assistiv_upstream_duration_seconds_count", provider="openai") >= 1
    assert "assistiv_request_duration_seconds_bucket" in after
    assert "assistiv_in_flight_requests" in after


def test_metrics_reject_post(gateway: Gateway) -> None:
    response = httpx.post(f"{gateway.url}/metrics")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_logs_carry_ids_not_secrets(gateway: Gateway, llm: openai.OpenAI, caller: Caller) -> None:
    prompt = f"confidential prompt {caller.end_user_id}"
    raw = llm.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": prompt + "\n" + directive(text="ok")}],
    )
    request_id = raw.headers["x-request-id"]

    def settled() -> str:
        lines = gateway.log().splitlines()
        return next((line for line in lines if request_id in line and "settled" in line), "")

    assert wait_until(lambda: settled() != "")
    line = settled()
    assert f"platform_id={caller.platform_id}" in line
    assert f"end_user_id={caller.end_user_id}" in line
    assert "latency_ms=" in line
    log = gateway.log()
    assert caller.end_user_key not in log
    assert caller.platform_key not in log
    assert "sk-test-provider-key" not in log
    assert "confidential prompt" not in log
