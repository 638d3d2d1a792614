"""The README's quickstart runs as written against a gateway with the demo on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import gateway_env
from tests.harness import Gateway

README = Path(__file__).resolve().parents[1] / "README.md"
# Real provider keys of the machine must not reach the demo under test.
NO_REAL_KEYS = {
    "OPENAI_API_KEY": "",
    "ANTHROPIC_API_KEY": "",
    "GEMINI_API_KEY": "",
    "XAI_API_KEY": "",
}


def quickstart() -> str:
    """The first Python block of the README's Quickstart section."""
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the Quickstart section has no python block"
    return str(blocks[0])


def exports() -> dict[str, str]:
    """The variables the Quickstart's shell block exports, with their placeholder values."""
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^export (\w+)=(\S+)$", section, flags=re.MULTILINE))


def test_quickstart_runs_against_demo(tmp_path: Path, secrets: dict[str, str]) -> None:
    env = gateway_env(secrets, None, ASSISTIV_DEMO="true", **NO_REAL_KEYS)
    gateway = Gateway(tmp_path / "demo", env)
    gateway.start()
    try:
        demo = gateway.ready["demo"]
        values = {
            "ASSISTIV_BASE_URL": gateway.url,
            "ASSISTIV_PLATFORM_ID": demo["platform_id"],
            "ASSISTIV_PLATFORM_KEY": demo["platform_key"],
        }
        assert set(exports()) == set(values)
        script = tmp_path / "quickstart.py"
        script.write_text(quickstart())
        result = subprocess.run(
            [sys.executable, str(script)],
            env={**env, **values},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        gateway.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Simulated reply ")
    assert result.stdout.endswith(": the quick brown fox jumps over the lazy dog.\n")
