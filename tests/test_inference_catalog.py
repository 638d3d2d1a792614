"""The model catalog: operator entries merged over the shipped file."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import GatewayFactory, gateway_env
from tests.fixtures.inference import TenancyWriter, sdk_client
from tests.fixtures.simulator import Simulator, directive
from tests.harness import GATEWAY_COMMAND, wait_until

OPERATOR_CATALOG = """
[[models]]
id = "support-bot"
provider = "openai"
upstream_id = "ft:gpt-4o-mini:acme:support"
input = "0.30"
output = "1.20"
context_window = 128000
max_output_tokens = 16384
"""


def test_operator_model_routed_to_its_upstream_id(
    tmp_path: Path,
    gateway_factory: GatewayFactory,
    tenancy: TenancyWriter,
    simulator: Simulator,
) -> None:
    catalog = tmp_path / "models.toml"
    catalog.write_text(OPERATOR_CATALOG)
    gateway = gateway_factory(ASSISTIV_CATALOG_PATH=str(catalog))
    caller = tenancy.caller(simulator, providers=("openai",))
    tag = f"catalog-{caller.end_user_id}"
    with sdk_client(gateway, caller.end_user_key) as client:
        assert "support-bot" in {model.id for model in client.models.list()}
        reply = client.chat.completions.create(
            model="support-bot",
            messages=[{"role": "user", "content": "hi\n" + directive(text="ok")}],
            user=tag,
        )
    assert reply.choices[0].message.content == "ok"
    assert simulator.requests(tag, wait_for=1)[0]["body"]["model"] == "ft:gpt-4o-mini:acme:support"


def test_invalid_catalog_stops_start(tmp_path: Path, secrets: dict[str, str]) -> None:
    catalog = tmp_path / "models.toml"
    catalog.write_text('[[models]]\nid = "house-model"\nprovider = "openai"\ninput = "1"\n')
    result = subprocess.run(
        [*GATEWAY_COMMAND, "serve", "--port", "0"],
        env=gateway_env(secrets, None, ASSISTIV_CATALOG_PATH=str(catalog)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert str(catalog) in result.stderr
    assert "house-model" in result.stderr
    assert "output is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_price_override_used_for_cost(
    tmp_path: Path, gateway_factory: GatewayFactory, tenancy: TenancyWriter, simulator: Simulator
) -> None:
    catalog = tmp_path / "models.toml"
    catalog.write_text('[[models]]\nid = "gpt-4o-mini"\noutput = "0.50"\n')
    gateway = gateway_factory(ASSISTIV_CATALOG_PATH=str(catalog))
    caller = tenancy.caller(simulator, providers=("openai",))
    usage = {"prompt": 10, "completion": 4}
    with sdk_client(gateway, caller.end_user_key) as client:
        ids = [model.id for model in client.models.list()]
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi\n" + directive(text="ok", usage=usage)}],
        )
    assert ids.count("gpt-4o-mini") == 1
    request_id = raw.headers["x-request-id"]

    # 10 prompt tokens at the shipped 0.15 USD and 4 output tokens at the overridden 0.50 USD
    # per million tokens cost 1,500 + 2,000 nano-USD.
    def settled() -> str:
        lines = [line for line in gateway.log().splitlines() if request_id in line]
        return next((line for line in lines if "chat completion settled" in line), "")

    assert wait_until(lambda: settled() != "")
    assert "cost_nanos=3500" in settled()
