"""The demo provisioning of `serve` on an empty store."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import httpx
import openai

from tests.conftest import gateway_env
from tests.harness import Gateway

# Real provider keys of the machine must not reach the demo under test.
NO_REAL_KEYS = {
    "OPENAI_API_KEY": "",
    "ANTHROPIC_API_KEY": "",
    "GEMINI_API_KEY": "",
    "XAI_API_KEY": "",
}


def demo_gateway(workdir: Path, secrets: dict[str, str], **env: str) -> Gateway:
    """A gateway with its own embedded store in `workdir` and the demo on."""
    settings = gateway_env(secrets, None, **{"ASSISTIV_DEMO": "true", **NO_REAL_KEYS, **env})
    return Gateway(workdir, settings)


def run_curl(command: str) -> httpx.Response:
    """Send the request a printed `curl` command describes."""
    words = shlex.split(command)
    assert words[:2] == ["curl", "-s"]
    url = words[2]
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    body = words[words.index("-d") + 1]
    return httpx.post(url, headers=headers, content=body, timeout=30)


def test_demo_curl_returns_completion(tmp_path: Path, secrets: dict[str, str]) -> None:
    gateway = demo_gateway(tmp_path / "demo", secrets)
    gateway.start()
    try:
        demo = gateway.ready["demo"]
        assert demo["platform_key"].startswith("sk-plat_")
        assert demo["end_user_key"].startswith("sk-eu_")
        assert set(demo["providers"].values()) == {"simulator"}
        response = run_curl(demo["curl"])
        assert response.status_code == 200
        completion = response.json()
        assert completion["object"] == "chat.completion"
        assert completion["choices"][0]["message"]["content"].startswith("Simulated reply ")
        assert "Demo platform provisioned" in gateway.log()
    finally:
        gateway.stop()


def test_demo_keys_work_after_restart(tmp_path: Path, secrets: dict[str, str]) -> None:
    first = demo_gateway(tmp_path / "demo", secrets)
    first.start()
    demo = first.ready["demo"]
    first.stop()

    second = demo_gateway(tmp_path / "demo", secrets)
    second.start()
    try:
        again = second.ready["demo"]
        assert again["platform_id"] == demo["platform_id"]
        assert "end_user_key" not in again
        with openai.OpenAI(
            base_url=f"{second.url}/v1", api_key=demo["end_user_key"], max_retries=0
        ) as client:
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
            )
        assert reply.choices[0].message.content
    finally:
        second.stop()


def test_demo_uses_real_provider_keys(tmp_path: Path, secrets: dict[str, str]) -> None:
    gateway = demo_gateway(tmp_path / "demo", secrets, XAI_API_KEY="xai-real-key")
    gateway.start()
    try:
        providers = gateway.ready["demo"]["providers"]
        assert providers == {
            "openai": "simulator",
            "anthropic": "simulator",
            "google": "simulator",
            "xai": "real",
        }
    finally:
        gateway.stop()


def test_demo_off_provisions_nothing(tmp_path: Path, secrets: dict[str, str]) -> None:
    gateway = demo_gateway(tmp_path / "demo", secrets, ASSISTIV_DEMO="false")
    gateway.start()
    try:
        assert "demo" not in gateway.ready
        assert "sk-" not in json.dumps(gateway.ready)
    finally:
        gateway.stop()
