"""`Idempotency-Key` on the POST routes that change money.

A key is scoped to its platform and kept 24 hours. The first request with a
key claims it (`running`); the script that changes money checks the claim and
stores the response's status and result in the same atomic step as the change,
so a crash can never apply a change without recording it. Then:

- the same key with the same method, path and body replays the stored status
  and body, with the header `Idempotent-Replayed: true`, and changes nothing;
- the same key with another request answers 422 `idempotency_key_reused`;
- the same key while the first request still runs answers 409
  `idempotency_key_in_use`.

Requests rejected before the money script runs (invalid body, unknown route,
authentication) are not recorded: their claim is dropped, so a corrected retry
runs afresh. A claim whose request died is dropped after `RUNNING_TTL_MS`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response

from control_plane import native
from control_plane.errors import ApiError, InvalidRequest, request_id_of
from control_plane.money.scripts import key, scripts_for

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# How long a claim lives without a result: longer than any money script runs.
RUNNING_TTL_MS = 60_000
# Record name for requests without a key; never written, because the token is empty.
_UNUSED = "none"


@dataclass(frozen=True)
class Claim:
    """This request's hold on its idempotency key, passed to the money script."""

    record_key: str
    token: str  # empty when the request has no key
    key: str  # the header's value, written on the ledger entry

    @property
    def active(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class Replay:
    """The stored outcome of the first request with this key."""

    status: int
    result: dict[str, Any]
    request_id: str


def header_value(request: Request[Any, Any, Any]) -> str | None:
    """The request's Idempotency-Key, checked; None when absent."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not value or len(value) > MAX_KEY_LENGTH or not value.isprintable() or not value.isascii():
        raise InvalidRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters", param=HEADER
        )
    return value


def fingerprint(request: Request[Any, Any, Any], body: Any) -> str:
    """A digest of what makes two requests the same: method, path and decoded body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    text = f"{request.method} {request.url.path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


async def claim(
    request: Request[Any, Any, Any], redis: Any, platform_id: str, body: Any
) -> Claim | Replay:
    """Claim the request's key, or return the first request's outcome to replay.

    Raises 422 `idempotency_key_reused` and 409 `idempotency_key_in_use`.
    """
    value = header_value(request)
    if value is None:
        return Claim(record_key=key("idempotency", platform_id, _UNUSED), token="", key="")
    digest = hashlib.sha256(value.encode()).hexdigest()
    record_key = key("idempotency", platform_id, digest)
    token = uuid.uuid4().hex
    reply = await scripts_for(redis).run(
        "idempotency_begin", [record_key], [fingerprint(request, body), token, RUNNING_TTL_MS]
    )
    state = reply["state"]
    if state == "new":
        return Claim(record_key=record_key, token=token, key=value)
    if state == "reused":
        raise ApiError(
            "idempotency_key_reused",
            f"this {HEADER} was used with a different request in the last 24 hours; "
            "send a new key for a new request",
            param=HEADER,
        )
    if state == "in_use":
        raise in_use()
    return Replay(
        status=int(reply["status"]),
        result=json.loads(reply["result"]),
        request_id=reply["request_id"],
    )


def in_use() -> ApiError:
    return ApiError(
        "idempotency_key_in_use",
        f"another request with this {HEADER} is still in progress; retry after it finishes",
        param=HEADER,
    )


async def abandon(redis: Any, claim: Claim) -> None:
    """Drop a claim whose request failed before the money script ran."""
    if claim.active:
        await scripts_for(redis).run("idempotency_abandon", [claim.record_key], [claim.token])


def error_response(
    request: Request[Any, Any, Any],
    result: dict[str, Any],
    request_id: str | None = None,
    replayed: bool = False,
) -> Response[bytes]:
    """The error envelope of a script's `{status, code, message}` result."""
    shown_id = request_id or request_id_of(request)
    body = native.error_envelope(result["code"], result["message"], shown_id, None)
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    return Response(
        content=body, status_code=int(result["status"]), media_type=MediaType.JSON, headers=headers
    )


def json_response(status: int, content: Any, replayed: bool = False) -> Response[Any]:
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    return Response(content=content, status_code=status, headers=headers)
