"""Settings, request building and decoding, shared by the sync and async clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NoReturn, TypeVar

import httpx
import msgspec

from assistiv._errors import AssistivError, envelope_of, error_from_response
from assistiv._retry import Safety, retry_after

T = TypeVar("T")

__version__ = "0.1.0"

DEFAULT_BASE_URL = "https://api.assistiv.ai"
BASE_URL_VARIABLE = "ASSISTIV_BASE_URL"
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2
PLATFORM_HEADER = "X-Assistiv-Platform-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_PLATFORM_PATHS = "/v1/platforms/"

# USD amounts go out as JSON numbers, never strings.
_encoder = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: the request to send and the type its response decodes to.

    `response_type` is the msgspec type of the body, or None for a call that
    returns no body.
    """

    method: str
    path: str
    response_type: Any
    body: Any = None
    params: Mapping[str, Any] | None = None
    safety: Safety = Safety.IDEMPOTENT
    headers: Mapping[str, str] = field(default_factory=dict)


def money_call(path: str, response_type: Any, body: Any, idempotency_key: str | None) -> Call[Any]:
    """A POST that changes money, sent with `idempotency_key` or a new UUID4.

    The key is fixed here, once per call, so every retry of the call carries the
    same key and the gateway applies the change at most once.
    """
    key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
    return Call(
        "POST",
        path,
        response_type,
        body=body,
        safety=Safety.IDEMPOTENT,
        headers={IDEMPOTENCY_HEADER: key},
    )


def without_unset(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the fields whose value is `msgspec.UNSET`, for bodies of partial updates."""
    return {name: value for name, value in fields.items() if value is not msgspec.UNSET}


def query(**params: Any) -> dict[str, Any]:
    """Drop the query parameters that are None."""
    return {name: value for name, value in params.items() if value is not None}


def normalize_base_url(base_url: str | None) -> str:
    """Return the gateway's root URL: the value given, else `ASSISTIV_BASE_URL`, else the default.

    A trailing `/v1`, as OpenAI clients are configured, is dropped because every
    path this client sends starts with `/v1`.
    """
    url = base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    url = url.rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


class ClientCore:
    """Settings of a client and the steps that do not depend on sync or async I/O."""

    def __init__(
        self,
        api_key: str,
        platform_id: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        if not api_key:
            raise ValueError(
                "api_key is required: pass a platform key (sk-plat_…) or an end-user key (sk-eu_…)"
            )
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
        self.api_key = api_key
        self.platform_id = platform_id
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.max_retries = max_retries
        self._default_headers = dict(default_headers or {})
        self._resolved_platform_id = platform_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, platform_id={self.platform_id!r})"
        )

    def _headers(self, call: Call[Any]) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"assistiv-python/{__version__}",
            **self._default_headers,
            **call.headers,
        }
        if self.platform_id is not None and not call.path.startswith(_PLATFORM_PATHS):
            headers[PLATFORM_HEADER] = self.platform_id
        return headers

    def _build_request(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]
    ) -> httpx.Request:
        content = None if call.body is None else _encoder.encode(call.body)
        headers = self._headers(call)
        if content is not None:
            headers["Content-Type"] = "application/json"
        return http.build_request(
            call.method,
            self.base_url + call.path,
            content=content,
            params=call.params,
            headers=headers,
        )

    def _decode(self, call: Call[T], response: httpx.Response) -> T:
        if call.response_type is None:
            return None  # type: ignore[return-value]
        try:
            decoded: T = msgspec.json.decode(response.content, type=call.response_type)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise AssistivError(
                f"the gateway's response to {call.method} {call.path} could not be read: {exc}",
                status=response.status_code,
                code="invalid_response",
                request_id=response.headers.get("x-request-id"),
            ) from exc
        return decoded


def error_code(response: httpx.Response) -> str | None:
    """Return the `code` of an error response whose body has been read."""
    envelope = envelope_of(response.content)
    return envelope.code if envelope else None


def raise_error(response: httpx.Response) -> NoReturn:
    """Raise the error of an unsuccessful response whose body has been read."""
    raise error_from_response(response, retry_after(response.headers))
