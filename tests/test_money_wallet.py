"""The wallet: `wallet credit` by reference, its balance and ledger over the API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import gateway_env
from tests.fixtures.money import Money, ledger_sum, nanos
from tests.fixtures.tenancy import Api, Tenant, assert_error
from tests.harness import GATEWAY_COMMAND, RedisServer


class WalletCli:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GATEWAY_COMMAND, "wallet", *args, "--json"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def credit(self, tenant: Tenant, amount: str, reference: str) -> dict[str, Any]:
        result = self.run(
            "credit", "--platform", tenant.platform_id, "--amount", amount,
            "--reference", reference, "--reason", "invoice",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path, secrets: dict[str, str], redis_server: RedisServer) -> WalletCli:
    return WalletCli(tmp_path, gateway_env(secrets, redis_server.url))


def test_credit_once_per_reference(cli: WalletCli, money: Money, api: Api, tenant: Tenant) -> None:
    first = cli.credit(tenant, "12.345678901", "inv-1")
    again = cli.credit(tenant, "12.345678901", "inv-1")
    assert first["replayed"] is False
    assert first["amount_usd"] == 12.345678901
    assert again["replayed"] is True
    assert again["id"] == first["id"]
    body = api.get(f"{tenant.base}/wallet", key=tenant.key).json()
    assert body["balance_usd"] == 12.345678901
    assert body["available_usd"] == 12.345678901
    assert money.wallet_hash(tenant)["balance_nano"] == str(nanos("12.345678901"))
    events = [event["type"] for event in money.events(tenant)]
    assert events == ["wallet.topped_up"]


def test_reference_with_other_amount_fails(cli: WalletCli, money: Money, tenant: Tenant) -> None:
    cli.credit(tenant, "5", "inv-2")
    result = cli.run(
        "credit", "--platform", tenant.platform_id, "--amount", "6", "--reference", "inv-2"
    )
    assert result.returncode == 1
    message = json.loads(result.stdout)["error"]["message"]
    assert "inv-2" in message
    assert "5.0 USD" in message
    assert money.wallet_hash(tenant)["balance_nano"] == str(nanos(5))


@pytest.mark.parametrize("amount", ["0", "-1", "0.0000000001", "1000000.5", "ten"])
def test_credit_rejects_bad_amount(cli: WalletCli, tenant: Tenant, amount: str) -> None:
    result = cli.run(
        "credit", "--platform", tenant.platform_id, "--amount", amount, "--reference", "r"
    )
    assert result.returncode == 2


def test_credit_unknown_platform_fails(cli: WalletCli) -> None:
    result = cli.run(
        "credit", "--platform", "plat_01jz0000000000000000000000", "--amount", "1",
        "--reference", "r",
    )  # fmt: skip
    assert result.returncode == 1


def test_show_unknown_platform_fails(cli: WalletCli) -> None:
    result = cli.run("show", "--platform", "plat_01jz0000000000000000000000")
    assert result.returncode == 1
    assert "does not exist" in json.loads(result.stdout)["error"]["message"]


def test_show_prints_balance(cli: WalletCli, tenant: Tenant) -> None:
    cli.credit(tenant, "2.5", "inv-show")
    result = cli.run("show", "--platform", tenant.platform_id)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["balance_usd"] == 2.5


def test_wallet_transactions_sum_to_balance(
    cli: WalletCli, api: Api, money: Money, tenant: Tenant
) -> None:
    for index in range(3):
        cli.credit(tenant, f"1.{index}", f"inv-{index}")
    first = api.get(f"{tenant.base}/wallet/transactions", key=tenant.key, params={"limit": 2})
    page = first.json()
    assert [item["amount_usd"] for item in page["data"]] == [1.2, 1.1]
    assert page["has_more"] is True
    rest = api.get(
        f"{tenant.base}/wallet/transactions",
        key=tenant.key,
        params={"limit": 2, "cursor": page["next_cursor"]},
    ).json()
    assert [item["amount_usd"] for item in rest["data"]] == [1.0]
    assert rest["data"][0]["idempotency_key"] == "inv-0"
    assert ledger_sum(money.wallet_ledger(tenant)) == nanos("3.3")


def test_wallet_low_balance_threshold_setting(api: Api, tenant: Tenant) -> None:
    settings = {"wallet_low_balance_threshold_usd": 2.5}
    assert api.patch(tenant.base, key=tenant.key, json=settings).status_code == 200
    body = api.get(f"{tenant.base}/wallet", key=tenant.key).json()
    assert body["low_balance_threshold_usd"] == 2.5


def test_wallet_of_other_platform_is_404(api: Api, tenant: Tenant, other_tenant: Tenant) -> None:
    response = api.get(f"{other_tenant.base}/wallet", key=tenant.key)
    assert_error(response, 404, "not_found")
