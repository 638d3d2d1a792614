"""Helpers every management resource shares: body decoding, ids, timestamps, pages.

Request bodies are decoded with msgspec in strict mode: a JSON number is not a
string, `1.0` is not an integer, and a field a struct does not declare is
rejected (structs set `forbid_unknown_fields`). Every failure becomes a 400
whose `param` names the field in dotted form (`default_budget.amount_usd`,
`items[2].name`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar import Request
from litestar.params import Parameter

from control_plane.errors import ApiError, InvalidRequest
from control_plane.store.tenancy import is_id
from control_plane.store.times import iso_ms, iso_ms_or_none

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Cursor",
    "Limit",
    "Page",
    "check_cursor",
    "decode_body",
    "decode_json",
    "is_id",
    "iso_ms",
    "iso_ms_or_none",
    "page_after",
]

T = TypeVar("T")
Item = TypeVar("Item")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

# msgspec ends its messages with " - at `$.path`" when the error is below the root,
# or " - at `key` in `$.path`" when a key of the object at that path is invalid.
_AT_PATH = re.compile(r" - at (?:`key` in )?`\$(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `(?P<field>[^`]+)`")


class Page(msgspec.Struct, Generic[Item]):
    """One page of a list; pass `next_cursor` as `cursor` to get the next one."""

    data: list[Item]
    has_more: bool
    next_cursor: str | None


Limit = Annotated[
    int,
    Parameter(ge=1, le=MAX_PAGE_SIZE, description="Page size, 1 to 100.", required=False),
]
Cursor = Annotated[
    str | None,
    Parameter(description="The `next_cursor` of the previous page.", required=False),
]


def _param_of(error: msgspec.ValidationError) -> tuple[str | None, str]:
    """Split a msgspec message into the dotted field path and the bare message."""
    message = str(error)
    path = ""
    match = _AT_PATH.search(message)
    if match:
        path = match.group("path")
        message = message[: match.start()]
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named.group('field')}"
    param = path.lstrip(".") or None
    return param, message


def decode_json(body: bytes, type_: type[T], *, empty: T | None = None) -> T:
    """Decode `body` as JSON into `type_`, raising 400 errors that name the field.

    An empty body decodes to `empty` when one is given, else it is rejected.
    """
    if not body.strip():
        if empty is not None:
            return empty
        raise ApiError("invalid_json", "the request body is empty; send a JSON object")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        param, message = _param_of(exc)
        where = f" at {param}" if param else ""
        raise InvalidRequest(f"invalid request body{where}: {message}", param=param) from None
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_json", f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        # msgspec raises this, not DecodeError, for arrays or objects nested too deeply.
        raise ApiError("invalid_json", "the request body nests JSON too deeply") from None


async def decode_body(
    request: Request[Any, Any, Any], type_: type[T], *, empty: T | None = None
) -> T:
    """Read the request body (the app's size limit applies) and decode it into `type_`.

    The Content-Type header is not checked, so `curl -d` works without `-H`.
    """
    return decode_json(await request.body(), type_, empty=empty)


def check_cursor(cursor: str | None, prefix: str) -> str | None:
    """Return a cursor that names an id of `prefix`, or raise 400 naming `cursor`."""
    if cursor is None:
        return None
    if not is_id(cursor, prefix):
        raise InvalidRequest("cursor is not a value returned as next_cursor", param="cursor")
    return cursor


def page_after(
    items: Sequence[Item], key: Callable[[Item], str], limit: int, cursor: str | None
) -> Page[Item]:
    """Page through `items` sorted by `key`, starting after the item whose key is `cursor`.

    Keys are time-sortable ids, so a cursor stays valid while items are added
    or removed: no item that existed when the first page was read is skipped
    or returned twice.
    """
    ordered = sorted(items, key=key)
    following = [item for item in ordered if cursor is None or key(item) > cursor]
    page = following[:limit]
    has_more = len(following) > limit
    return Page(data=page, has_more=has_more, next_cursor=key(page[-1]) if has_more else None)
