"""Which failed requests the client sends again, and how long it waits first.

Every request is sent with a `Safety` that states what a second copy would do:

- `IDEMPOTENT`: a second copy changes nothing more than the first. These are
  GET, PUT, PATCH and DELETE (the management API's PATCH sets fields to the
  values sent), and POSTs that carry an `Idempotency-Key`, which the gateway
  answers from its record of the first. They are retried on 408, 409
  `idempotency_key_in_use`, 429, 500, 502, 503 and 504, and after any
  transport error.
- `INFERENCE`: chat completions and responses. The gateway charges and stores
  nothing for a call that fails before any output, so 429, 502, 503 and 504
  are retried. A connection that breaks after the request was sent may leave
  a call running and billed, so of the transport errors only those before
  sending (connect failures) are retried.
- `UNSAFE`: POSTs that mint a key or create an end user. They are retried only
  on 429, which the gateway returns before doing anything, and after connect
  failures, when nothing was sent.

The wait before retry n (counting from 0) is 0.5 s * 2**n, capped at 8 s, times
a random factor between 0.5 and 1. A `retry-after-ms` or `Retry-After` header
replaces it. A header asking for more than 60 s is not waited for: the error
is raised at once, with the wait in `AssistivRateLimitError.retry_after`.
"""

from __future__ import annotations

import email.utils
import enum
import random
import time

import httpx

__all__ = ["MAX_RETRY_AFTER", "Safety", "backoff", "retry_after", "status_delay", "transport_delay"]

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0

_IDEMPOTENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_INFERENCE_STATUSES = frozenset({429, 502, 503, 504})
_UNSAFE_STATUSES = frozenset({429})
# Transport errors raised before any byte of the request left the client.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Safety(enum.Enum):
    """The effect of sending a request a second time; see the module docstring."""

    IDEMPOTENT = "idempotent"
    INFERENCE = "inference"
    UNSAFE = "unsafe"


def backoff(attempt: int) -> float:
    """Return the wait in seconds before retry number `attempt` (0-based), with jitter."""
    base = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0**attempt)
    jitter: float = 0.5 + random.random() / 2  # noqa: S311 - jitter, not a secret
    return base * jitter


def retry_after(headers: httpx.Headers) -> float | None:
    """Return the wait in seconds that `retry-after-ms` or `Retry-After` requests, if any.

    `Retry-After` may be delta-seconds or an HTTP date.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _retryable_status(safety: Safety, status: int, code: str | None) -> bool:
    if safety is Safety.IDEMPOTENT:
        return status in _IDEMPOTENT_STATUSES or (
            status == 409 and code == "idempotency_key_in_use"
        )
    if safety is Safety.INFERENCE:
        return status in _INFERENCE_STATUSES
    return status in _UNSAFE_STATUSES


def status_delay(
    safety: Safety,
    response: httpx.Response,
    code: str | None,
    attempt: int,
    max_retries: int,
) -> float | None:
    """Return the wait before retrying after an error `response`, or None to raise its error."""
    if attempt >= max_retries or not _retryable_status(safety, response.status_code, code):
        return None
    requested = retry_after(response.headers)
    if requested is None:
        return backoff(attempt)
    if requested > MAX_RETRY_AFTER:
        return None
    return requested


def transport_delay(
    safety: Safety, error: httpx.TransportError, attempt: int, max_retries: int
) -> float | None:
    """Return the wait before retrying after a transport error, or None to raise it."""
    if attempt >= max_retries:
        return None
    if safety is Safety.IDEMPOTENT or isinstance(error, _NOT_SENT):
        return backoff(attempt)
    return None
