"""Fixtures of the SDK tests: the project's gateway, tenants and simulator, and a
`flavour` that runs each test once with `Assistiv` and once with `AsyncAssistiv`.

These tests run as their own pytest session (`make py-test` starts it after the
gateway's suite). They reuse the gateway's session fixtures by importing them,
so the session-scoped fixtures of `tests.fixtures` bind to this session's
Redis and gateway only.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from assistiv import Assistiv, AsyncAssistiv

from tests.conftest import gateway, gateway_factory, redis_server, secrets
from tests.harness import Gateway

__all__ = ["gateway", "gateway_factory", "redis_server", "secrets"]

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.tenancy",
    "tests.fixtures.inference",
]


class Flavour:
    """Clients of one flavour, and helpers that run their calls to completion.

    `run(value)` returns `value`, or awaits it when it is awaitable, so one test
    body drives both clients: `flavour.run(client.end_users.get(end_user_id))`.
    """

    def __init__(self, kind: str, gateway: Gateway) -> None:
        self.kind = kind
        self.gateway = gateway
        self._runner = asyncio.Runner() if kind == "async" else None
        self._clients: list[Any] = []

    @property
    def is_async(self) -> bool:
        return self._runner is not None

    def client(self, api_key: str, **options: Any) -> Any:
        """A client of this flavour against the session gateway."""
        options.setdefault("base_url", self.gateway.url)
        cls = AsyncAssistiv if self.is_async else Assistiv
        client = cls(api_key, **options)
        self._clients.append(client)
        return client

    def run(self, value: Any) -> Any:
        if self._runner is not None and inspect.isawaitable(value):
            return self._runner.run(_awaited(value))
        return value

    def items(self, paginator: Any) -> list[Any]:
        """Every item of a paginated list."""
        if self._runner is not None:
            return self._runner.run(_collect(paginator))
        return list(paginator)

    def pages(self, paginator: Any) -> list[Any]:
        """Every page of a paginated list."""
        if self._runner is not None:
            return self._runner.run(_collect(paginator.pages()))
        return list(paginator.pages())

    def events(self, stream: Any) -> list[Any]:
        """Every event of a stream returned by a `create(..., stream=True)` call."""
        if self._runner is not None:
            return self._runner.run(_collect(stream))
        return list(stream)

    def close(self) -> None:
        for client in self._clients:
            if self._runner is not None:
                self._runner.run(client.aclose())
            else:
                client.close()
        if self._runner is not None:
            self._runner.close()


async def _awaited(value: Any) -> Any:
    return await value


async def _collect(iterable: Any) -> list[Any]:
    return [item async for item in iterable]


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest, gateway: Gateway) -> Iterator[Flavour]:
    instance = Flavour(request.param, gateway)
    yield instance
    instance.close()
