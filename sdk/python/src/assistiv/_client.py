"""`Assistiv` and `AsyncAssistiv`: the clients, their resources and the retry loop."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx

from assistiv import _retry
from assistiv._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Call,
    ClientCore,
    error_code,
    raise_error,
)
from assistiv._errors import AssistivConnectionError, AssistivError, AssistivTimeoutError
from assistiv._models import EndUserIdentity, Identity, PlatformIdentity
from assistiv._streaming import AsyncStream, Stream
from assistiv.resources import (
    ApiKeys,
    AsyncApiKeys,
    AsyncBudgets,
    AsyncChat,
    AsyncEndUsers,
    AsyncLogs,
    AsyncMe,
    AsyncModels,
    AsyncRateLimitsResource,
    AsyncResponses,
    AsyncWalletResource,
    Budgets,
    Chat,
    EndUsers,
    Logs,
    Me,
    Models,
    RateLimitsResource,
    Responses,
    WalletResource,
)
from assistiv.resources.identity import ME_CALL

T = TypeVar("T")


def _connection_error(exc: httpx.TransportError, call: Call[Any]) -> AssistivError:
    where = f"{call.method} {call.path}"
    if isinstance(exc, httpx.TimeoutException):
        return AssistivTimeoutError(f"{where} timed out: {exc}", code="timeout")
    return AssistivConnectionError(f"{where} failed to connect: {exc}", code="connection_error")


def _platform_of(identity: Identity) -> str:
    if isinstance(identity, PlatformIdentity):
        return identity.platform.id
    assert isinstance(identity, EndUserIdentity)
    return identity.platform_id


def _resolution_error(error: AssistivError) -> AssistivError:
    """Say how to fix a key that reaches several platforms, keeping the gateway's fields."""
    return AssistivError(
        "this key reaches several platforms, so the client cannot choose one: pass "
        f"platform_id to the client ({error.message})",
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        type=error.type,
        param="platform_id",
        body=error.body,
    )


class Assistiv(ClientCore):
    """A client of the Assistiv Gateway.

    `api_key` is a platform key (`sk-plat_…`) for management calls or an
    end-user key (`sk-eu_…`) for inference. `platform_id` names the platform of
    management calls; without it the client asks `/v1/me` once and uses the
    key's only platform. `base_url` defaults to `ASSISTIV_BASE_URL`, else
    https://api.assistiv.ai. `timeout` is in seconds (or an `httpx.Timeout`),
    and `max_retries` bounds how often a failed call is sent again (see
    `assistiv._retry` for which failures are retried).
    """

    def __init__(
        self,
        api_key: str,
        platform_id: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(api_key, platform_id, base_url, timeout, max_retries, default_headers)
        self._http = http_client or httpx.Client(timeout=self.timeout)
        self.api_keys = ApiKeys(self)
        self.end_users = EndUsers(self)
        self.budgets = Budgets(self)
        self.rate_limits = RateLimitsResource(self)
        self.logs = Logs(self)
        self.models = Models(self)
        self.me = Me(self)
        self.chat = Chat(self)
        self.responses = Responses(self)
        self.wallet = WalletResource(self)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Assistiv:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, call: Call[T]) -> T:
        response = self._send(call, stream=False)
        return self._decode(call, response)

    def _stream(self, call: Call[Any], event_type: type[T]) -> Stream[T]:
        return Stream(self._send(call, stream=True), event_type)

    def _send(self, call: Call[Any], *, stream: bool) -> httpx.Response:
        """Send `call`, retrying as its safety allows; return a successful response."""
        request = self._build_request(self._http, call)
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = _retry.transport_delay(call.safety, exc, attempt, self.max_retries)
                if delay is None:
                    raise _connection_error(exc, call) from exc
            else:
                if response.is_success:
                    return response
                response.read()
                response.close()
                code = error_code(response)
                delay = _retry.status_delay(call.safety, response, code, attempt, self.max_retries)
                if delay is None:
                    raise_error(response)
            time.sleep(delay)
            attempt += 1

    def _platform(self) -> str:
        """Return the platform of management calls: `platform_id`, else the key's only one."""
        if self._resolved_platform_id is None:
            try:
                identity = self._request(ME_CALL)
            except AssistivError as error:
                if error.code == "platform_id_required":
                    raise _resolution_error(error) from error
                raise
            self._resolved_platform_id = _platform_of(identity)
        return self._resolved_platform_id


class AsyncAssistiv(ClientCore):
    """The asyncio client; the same resources and methods as `Assistiv`, awaited."""

    def __init__(
        self,
        api_key: str,
        platform_id: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(api_key, platform_id, base_url, timeout, max_retries, default_headers)
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)
        self.api_keys = AsyncApiKeys(self)
        self.end_users = AsyncEndUsers(self)
        self.budgets = AsyncBudgets(self)
        self.rate_limits = AsyncRateLimitsResource(self)
        self.logs = AsyncLogs(self)
        self.models = AsyncModels(self)
        self.me = AsyncMe(self)
        self.chat = AsyncChat(self)
        self.responses = AsyncResponses(self)
        self.wallet = AsyncWalletResource(self)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncAssistiv:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _request(self, call: Call[T]) -> T:
        response = await self._send(call, stream=False)
        return self._decode(call, response)

    async def _stream(self, call: Call[Any], event_type: type[T]) -> AsyncStream[T]:
        return AsyncStream(await self._send(call, stream=True), event_type)

    async def _send(self, call: Call[Any], *, stream: bool) -> httpx.Response:
        """Send `call`, retrying as its safety allows; return a successful response."""
        request = self._build_request(self._http, call)
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = _retry.transport_delay(call.safety, exc, attempt, self.max_retries)
                if delay is None:
                    raise _connection_error(exc, call) from exc
            else:
                if response.is_success:
                    return response
                await response.aread()
                await response.aclose()
                code = error_code(response)
                delay = _retry.status_delay(call.safety, response, code, attempt, self.max_retries)
                if delay is None:
                    raise_error(response)
            await anyio.sleep(delay)
            attempt += 1

    async def _platform(self) -> str:
        """Return the platform of management calls: `platform_id`, else the key's only one."""
        if self._resolved_platform_id is None:
            try:
                identity = await self._request(ME_CALL)
            except AssistivError as error:
                if error.code == "platform_id_required":
                    raise _resolution_error(error) from error
                raise
            self._resolved_platform_id = _platform_of(identity)
        return self._resolved_platform_id
