"""Another tenant's logs are invisible: its platform and its request ids are not found."""

from __future__ import annotations

import httpx

from tests.fixtures.inference import Caller, TenancyWriter
from tests.fixtures.logs import Logs, LogScript
from tests.fixtures.simulator import Simulator
from tests.fixtures.tenancy import assert_error
from tests.harness import Gateway


def test_other_platforms_logs_not_found(
    caller: Caller,
    tenancy: TenancyWriter,
    simulator: Simulator,
    log_script: LogScript,
    logs: Logs,
) -> None:
    other = tenancy.caller(simulator)
    _, request_id = log_script.append(caller.platform_id)
    with httpx.Client(base_url=logs.client.base_url) as client:
        headers = {"Authorization": f"Bearer {other.platform_key}"}
        base = f"/v1/platforms/{caller.platform_id}/logs"
        assert_error(client.get(base, headers=headers), 404, "not_found")
        assert_error(client.get(f"{base}/{request_id}", headers=headers), 404, "not_found")


def test_other_platforms_request_id_not_found_on_own_platform(
    caller: Caller,
    tenancy: TenancyWriter,
    simulator: Simulator,
    log_script: LogScript,
    logs: Logs,
) -> None:
    other = tenancy.caller(simulator)
    _, theirs = log_script.append(other.platform_id)
    assert_error(logs.get(caller, theirs), 404, "not_found")
    assert logs.list(caller)["data"] == []


def test_unknown_request_id_not_found(caller: Caller, logs: Logs) -> None:
    assert_error(logs.get(caller, "req_01jfq3z8x4mv9r2k7w5t6y8b3c"), 404, "not_found")
    assert_error(logs.get(caller, "not-a-request-id"), 404, "not_found")


def test_end_user_key_cannot_read_logs(caller: Caller, gateway: Gateway) -> None:
    with gateway.client() as client:
        response = client.get(
            f"/v1/platforms/{caller.platform_id}/logs",
            headers={"Authorization": f"Bearer {caller.end_user_key}"},
        )
    assert_error(response, 403, "platform_key_required")
