"""Errors of the management API and their JSON envelope.

Exception tree::

    ApiError                  any error answered to the client; `code` picks the
     |                        status and `type` from the shared error table
     +-- InvalidRequest       400 invalid_request, `param` names the field
     +-- NotFound             404 not_found (also for other tenants' resources)

Losing the connection to Redis answers 503 ``not_ready``. Every other
exception escaping a handler is logged once with its traceback and
answered with 500 ``internal_error``; no traceback ever reaches the client.
Litestar's own exceptions (no route, wrong method, body too large, failed
validation) are converted into the same envelope here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from control_plane import native

logger = logging.getLogger(__name__)

ERROR_CODES: dict[str, tuple[int, str]] = native.error_codes()

# Statuses Litestar raises on its own, and the code each one is answered with.
_CODE_BY_STATUS = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "platform_key_required",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "not_ready",
}


class ApiError(Exception):
    """An error answered with the envelope; `code` must be in the error table."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return ERROR_CODES[self.code][0]


class InvalidRequest(ApiError):
    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__("invalid_request", message, param=param)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__("not_found", message)


def request_id_of(request: Request) -> str:
    """The id the request-id middleware stored, or a new one for early failures."""
    state = request.scope.get("state") or {}
    request_id = state.get("request_id")
    if not request_id:
        request_id = native.new_id("req")
        state["request_id"] = request_id
        request.scope["state"] = state
    return request_id


def envelope_response(
    request: Request,
    code: str,
    message: str,
    *,
    param: str | None = None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    request_id = request_id_of(request)
    body = native.error_envelope(code, message, request_id, param)
    return Response(
        content=body,
        status_code=status or ERROR_CODES[code][0],
        media_type=MediaType.JSON,
        headers={**(headers or {}), "x-request-id": request_id},
    )


def _api_error(request: Request, exc: ApiError) -> Response[bytes]:
    return envelope_response(request, exc.code, exc.message, param=exc.param, headers=exc.headers)


def _validation_param(exc: ValidationException) -> str | None:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        key = extra[0].get("key")
        return str(key) if key else None
    return None


def _validation_error(request: Request, exc: ValidationException) -> Response[bytes]:
    param = _validation_param(exc)
    message = exc.detail or "the request is invalid"
    if isinstance(exc.extra, list) and exc.extra and isinstance(exc.extra[0], dict):
        first = exc.extra[0].get("message")
        if first:
            message = f"{message}: {first}"
    return envelope_response(request, "invalid_request", message, param=param)


def _http_error(request: Request, exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, "internal_error" if status >= 500 else "invalid_request")
    if code == "not_found":
        message = f"no route for {request.method} {request.url.path}"
    elif code == "method_not_allowed":
        message = f"{request.method} is not allowed on {request.url.path}"
    elif code == "payload_too_large":
        message = "the request body exceeds the configured size limit"
    else:
        message = exc.detail or "the request failed"
    headers = dict(exc.headers or {})
    return envelope_response(request, code, message, status=status, headers=headers)


def _unexpected(request: Request, exc: Exception) -> Response[bytes]:
    request_id = request_id_of(request)
    logger.error(
        "unhandled error in %s %s (request_id=%s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return envelope_response(
        request, "internal_error", f"internal error; quote request id {request_id} to support"
    )


def _store_unavailable(request: Request, exc: Exception) -> Response[bytes]:
    request_id = request_id_of(request)
    logger.error(
        "Redis unavailable in %s %s (request_id=%s): %s",
        request.method,
        request.url.path,
        request_id,
        exc,
    )
    return envelope_response(request, "not_ready", "the state store is unavailable; retry shortly")


EXCEPTION_HANDLERS = {
    RedisConnectionError: _store_unavailable,
    RedisTimeoutError: _store_unavailable,
    ApiError: _api_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}
