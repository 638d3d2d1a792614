"""`assistiv-gateway simulator` as a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import httpx

from tests.harness import GATEWAY_COMMAND


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("ASSISTIV_")}


def test_simulator_command_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [*GATEWAY_COMMAND, "simulator", "--json", "--port", "0", "--api-key", "openai=sk-cli"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "ready"
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}"
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        denied = httpx.post(f"{ready['url']}/v1/chat/completions", json=body)
        assert denied.status_code == 401
        allowed = httpx.post(
            f"{ready['url']}/v1/chat/completions",
            json=body,
            headers={"Authorization": "Bearer sk-cli"},
        )
        assert allowed.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert json.loads(process.stdout.readline()) == {"event": "stopped", "status": 0}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_simulator_command_rejects_bad_split() -> None:
    result = subprocess.run(
        [*GATEWAY_COMMAND, "simulator", "--json", "--port", "0", "--split", "lines"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "command_failed"
    assert "split" in error["message"]
