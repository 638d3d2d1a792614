"""A realistic mix of traffic for the gateway: many end users chatting, and a platform
managing them.

Start a gateway wired to the simulator first (bench/README.md), then:

    bench/.venv/bin/locust -f bench/locustfile.py --headless -u 200 -r 50 -t 2m

Before the users start, the test provisions `--end-users` end users with keys and
budgets through the management API. Each simulated user then calls, by weight:

- 10: a chat completion as one JSON reply, as a random end user;
- 6: the same as a stream, timed to the first token and to the end;
- 1: create an end user (with a key);
- 1: top up an end user's budget;
- 2: page the platform's request log (two pages, following the cursor);
- 1: read the wallet.

The simulator's timing per request comes from the `#sim` directive in the
prompt: `--sim-latency-ms` (before the headers), `--sim-ttft-ms` (before the
first token) and `--sim-tokens-per-second` (after it).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import requests
from locust import FastHttpUser, between, events, task
from locust.env import Environment

STACK_ENV = Path(__file__).resolve().parent / "out" / "stack.env"
MODEL = "gpt-4o-mini"


class Platform:
    """The platform the test runs as, and the end users it provisioned."""

    id = ""
    key = ""
    end_user_ids: list[str] = []
    end_user_keys: list[str] = []
    directive = ""


def _stack_settings() -> dict[str, str]:
    """Settings from the environment, else from the file `overhead.py --serve` writes."""
    found: dict[str, str] = {}
    if STACK_ENV.exists():
        for line in STACK_ENV.read_text().splitlines():
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    for name in ("ASSISTIV_URL", "ASSISTIV_PLATFORM_ID", "ASSISTIV_PLATFORM_KEY"):
        if os.environ.get(name):
            found[name] = os.environ[name]
    return found


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--end-users", type=int, default=100, help="end users to provision")
    parser.add_argument("--sim-latency-ms", type=int, default=0, help="upstream header delay")
    parser.add_argument("--sim-ttft-ms", type=int, default=0, help="upstream first-token delay")
    parser.add_argument(
        "--sim-tokens-per-second", type=int, default=0, help="upstream token pace; 0 is at once"
    )


@events.test_start.add_listener
def _provision(environment: Environment, **_: Any) -> None:
    settings = _stack_settings()
    options = environment.parsed_options
    host = environment.host or settings.get("ASSISTIV_URL", "")
    if not host or not settings.get("ASSISTIV_PLATFORM_ID"):
        raise RuntimeError(
            "no gateway: run `bench/.venv/bin/python bench/overhead.py --serve` first, or set "
            "ASSISTIV_URL, ASSISTIV_PLATFORM_ID and ASSISTIV_PLATFORM_KEY"
        )
    environment.host = host
    Platform.id = settings["ASSISTIV_PLATFORM_ID"]
    Platform.key = settings["ASSISTIV_PLATFORM_KEY"]
    timing = {
        "latency_ms": options.sim_latency_ms if options else 0,
        "ttft_ms": options.sim_ttft_ms if options else 0,
        "tokens_per_second": options.sim_tokens_per_second if options else 0,
    }
    active = {name: value for name, value in timing.items() if value}
    Platform.directive = f"\n#sim {json.dumps(active)}" if active else ""
    count = options.end_users if options else 100
    headers = {"Authorization": f"Bearer {Platform.key}"}
    base = f"{host}/v1/platforms/{Platform.id}"
    run = f"{int(time.time())}-{random.randrange(1_000_000)}"
    with requests.Session() as session:
        session.headers.update(headers)
        for index in range(count):
            reply = session.post(f"{base}/end-users", json={"external_id": f"load-{run}-{index}"})
            reply.raise_for_status()
            end_user = reply.json()
            budget = {"amount_usd": 1_000_000, "period": "monthly"}
            session.post(f"{base}/end-users/{end_user['id']}/budget", json=budget)
            Platform.end_user_ids.append(end_user["id"])
            Platform.end_user_keys.append(end_user["api_key"]["raw_key"])


def _chat_body(stream: bool) -> dict[str, Any]:
    question = random.choice(
        [
            "Summarize the benefits of connection pooling in two sentences.",
            "Write a haiku about load balancers.",
            "List three ways to cut the latency of an HTTP API.",
            "Explain token buckets to a new engineer.",
        ]
    )
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": question + Platform.directive},
        ],
        "max_tokens": 128,
    }
    if stream:
        body["stream"] = True
    return body


class PlatformTraffic(FastHttpUser):
    """One client of the platform: its end users chat, its back office manages them."""

    wait_time = between(0.05, 0.5)

    def _end_user_key(self) -> str:
        return random.choice(Platform.end_user_keys)

    def _platform_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {Platform.key}"}

    @task(10)
    def chat(self) -> None:
        headers = {"Authorization": f"Bearer {self._end_user_key()}"}
        with self.client.post(
            "/v1/chat/completions",
            json=_chat_body(stream=False),
            headers=headers,
            name="chat",
            catch_response=True,
        ) as reply:
            if reply.status_code != 200:
                reply.failure(f"status {reply.status_code}: {(reply.text or '')[:200]}")
            elif not reply.json().get("choices"):
                reply.failure("no choices in the reply")

    @task(6)
    def chat_stream(self) -> None:
        headers = {"Authorization": f"Bearer {self._end_user_key()}"}
        started = time.perf_counter()
        with self.client.post(
            "/v1/chat/completions",
            json=_chat_body(stream=True),
            headers=headers,
            name="chat stream: headers",
            stream=True,
            catch_response=True,
        ) as reply:
            if reply.status_code != 200:
                reply.failure(f"status {reply.status_code}")
                return
            first_token = None
            text = ""
            # Small reads: a read returns only once it has its full size or the body ended,
            # so large ones would hold the first token back until later tokens arrive.
            for chunk in reply.iter_content(chunk_size=64):
                text += chunk if isinstance(chunk, str) else chunk.decode(errors="replace")
                if first_token is None and '"content":"' in text.replace('"content":""', ""):
                    first_token = time.perf_counter()
            ended = time.perf_counter()
            if "data: [DONE]" not in text:
                reply.failure("the stream ended without [DONE]")
                return
        for name, moment in (("chat stream: first token", first_token), ("chat stream", ended)):
            if moment is not None:
                events.request.fire(
                    request_type="POST",
                    name=name,
                    response_time=(moment - started) * 1000,
                    response_length=len(text),
                    exception=None,
                    context={},
                )

    @task(1)
    def create_end_user(self) -> None:
        external_id = f"signup-{time.time_ns()}-{random.randrange(1_000_000)}"
        self.client.post(
            f"/v1/platforms/{Platform.id}/end-users",
            json={"external_id": external_id, "metadata": {"plan": "trial"}},
            headers=self._platform_headers(),
            name="create end user",
        )

    @task(1)
    def top_up_budget(self) -> None:
        end_user_id = random.choice(Platform.end_user_ids)
        self.client.post(
            f"/v1/platforms/{Platform.id}/end-users/{end_user_id}/budget/topup",
            json={"amount_usd": 5, "reason": "load test top-up"},
            headers=self._platform_headers(),
            name="top up budget",
        )

    @task(2)
    def page_logs(self) -> None:
        path = f"/v1/platforms/{Platform.id}/logs"
        reply = self.client.get(
            path, params={"limit": 50}, headers=self._platform_headers(), name="logs: first page"
        )
        cursor = reply.json().get("next_cursor") if reply.status_code == 200 else None
        if cursor:
            self.client.get(
                path,
                params={"limit": 50, "cursor": cursor},
                headers=self._platform_headers(),
                name="logs: next page",
            )

    @task(1)
    def wallet(self) -> None:
        self.client.get(
            f"/v1/platforms/{Platform.id}/wallet", headers=self._platform_headers(), name="wallet"
        )
