"""`GET /metrics` after inference traffic."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from tests.fixtures.inference import sdk_client
from tests.fixtures.simulator import directive
from tests.harness import Gateway


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
