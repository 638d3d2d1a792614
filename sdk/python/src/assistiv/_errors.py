"""Exceptions raised by the client.

    AssistivError                     any failed call: status, code, message, request_id
    ├── AssistivAuthError             401 or 403: the key is missing, invalid or of the wrong kind
    ├── AssistivPaymentRequiredError  402: wallet empty, budget exhausted or suspended
    ├── AssistivRateLimitError        429: a rate limit was hit; `retry_after` in seconds
    └── AssistivConnectionError       no response: connection failed or timed out
        └── AssistivTimeoutError      the request timed out

Every error from the gateway carries the fields of its envelope,
`{"error": {"message", "type", "code", "param", "request_id"}}`.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

__all__ = [
    "AssistivAuthError",
    "AssistivConnectionError",
    "AssistivError",
    "AssistivPaymentRequiredError",
    "AssistivRateLimitError",
    "AssistivTimeoutError",
    "error_from_response",
]


class AssistivError(Exception):
    """A call failed: the gateway returned an error, or no response arrived.

    `status` is the HTTP status, or None when no response arrived (connection
    errors) or when the error came as an event inside a stream.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        type: str | None = None,
        param: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.type = type
        self.param = param
        self.body = body

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status {self.status}")
        if self.code:
            parts.append(f"code {self.code}")
        if self.request_id:
            parts.append(f"request {self.request_id}")
        return " | ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class AssistivAuthError(AssistivError):
    """401 or 403: the key is missing, invalid, revoked or not allowed on this route."""


class AssistivPaymentRequiredError(AssistivError):
    """402: the platform's wallet is empty, or the end user's budget is exhausted or suspended."""


class AssistivRateLimitError(AssistivError):
    """429: a rate limit was hit. `retry_after` is the wait in seconds the gateway asked for."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class AssistivConnectionError(AssistivError):
    """No response arrived: the connection failed, broke, or timed out."""


class AssistivTimeoutError(AssistivConnectionError):
    """The request timed out before the response (or the next part of a stream) arrived."""


class _Envelope(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    request_id: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _Envelope


def _error_class(status: int) -> type[AssistivError]:
    if status in (401, 403):
        return AssistivAuthError
    if status == 402:
        return AssistivPaymentRequiredError
    if status == 429:
        return AssistivRateLimitError
    return AssistivError


def envelope_of(body: bytes) -> _Envelope | None:
    """Decode the `error` object of an error body, or None if the body is not an envelope."""
    try:
        return msgspec.json.decode(body, type=_ErrorBody).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def error_from_response(response: httpx.Response, retry_after: float | None) -> AssistivError:
    """Build the exception for an error response whose body has been read."""
    envelope = envelope_of(response.content) or _Envelope()
    message = envelope.message or _fallback_message(response)
    fields: dict[str, Any] = {
        "status": response.status_code,
        "code": envelope.code,
        "request_id": envelope.request_id or response.headers.get("x-request-id"),
        "type": envelope.type,
        "param": envelope.param,
        "body": _json_or_text(response),
    }
    cls = _error_class(response.status_code)
    if cls is AssistivRateLimitError:
        return AssistivRateLimitError(message, retry_after=retry_after, **fields)
    return cls(message, **fields)


def error_from_event(error: Any) -> AssistivError:
    """Build the exception for an `{"error": {...}}` event that ended a stream."""
    try:
        envelope = msgspec.convert(error, type=_Envelope)
    except msgspec.ValidationError:
        envelope = _Envelope()
    return AssistivError(
        envelope.message or "the stream ended with an error",
        code=envelope.code,
        request_id=envelope.request_id,
        type=envelope.type,
        param=envelope.param,
        body=error,
    )


def _fallback_message(response: httpx.Response) -> str:
    text = response.text.strip()
    reason = response.reason_phrase or "error"
    return f"HTTP {response.status_code} {reason}" + (f": {text[:200]}" if text else "")


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return response.text
