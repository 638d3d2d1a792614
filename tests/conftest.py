"""Session fixtures: one private Redis and one gateway shared by most tests.

Tests that need their own settings (a stopped Redis, a second instance, a bad
configuration) start their own components through `gateway_factory`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import Gateway, RedisServer, test_secrets

# Each area's fixtures live in their own plugin module.
pytest_plugins: list[str] = [
    "tests.fixtures.simulator",
    "tests.fixtures.tenancy",
    "tests.fixtures.inference",
    "tests.fixtures.money",
    "tests.fixtures.responses",
    "tests.fixtures.logs",
    "tests.fixtures.translation",
]


@pytest.fixture(scope="session")
def secrets() -> dict[str, str]:
    return test_secrets()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def gateway_env(secrets: dict[str, str], redis_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a test gateway: no inherited ASSISTIV_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTIV_")}
    env.update(secrets)
    env.update(
        {
            "ASSISTIV_TEST_ROUTES": "true",
            "ASSISTIV_DEMO": "false",
            "ASSISTIV_LOG_LEVEL": "info",
            # Money scripts read a platform's test clock key only when it is set.
            "ASSISTIV_TEST_CLOCK": "true",
        }
    )
    if redis_url:
        env["ASSISTIV_REDIS_URL"] = redis_url
    env.update(extra)
    return env


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def gateway_factory(
    tmp_path: Path, secrets: dict[str, str], redis_server: RedisServer
) -> Iterator[GatewayFactory]:
    """Start extra gateways; each stops at the end of the test.

    `redis_url=None` (the default) shares the session Redis; pass `embedded=True`
    for a gateway with its own embedded store.
    """
    started: list[Gateway] = []

    def start(
        *, embedded: bool = False, redis_url: str | None = None, name: str = "gw", **env: str
    ) -> Gateway:
        url = None if embedded else (redis_url or redis_server.url)
        gateway = Gateway(tmp_path / f"{name}-{len(started)}", gateway_env(secrets, url, **env))
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, secrets: dict[str, str], redis_server: RedisServer
) -> Iterator[Gateway]:
    instance = Gateway(tmp_path_factory.mktemp("gateway"), gateway_env(secrets, redis_server.url))
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as http:
        yield http
