"""`GET /openapi.json`: the OpenAPI 3.1 document of the management API.

Litestar generates paths, parameters and response schemas from the handlers.
Handlers decode their bodies themselves with strict msgspec (see `api.common`),
so Litestar cannot see the body type. Each handler names it in
`opt={"body": Struct}`, and this module adds the request bodies and the bearer
security scheme to Litestar's document.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

SECURITY_SCHEME = "bearerAuth"
SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
_STATE_KEY = "openapi_document"
_REF_TEMPLATE = "#/components/schemas/{name}"


class ErrorBody(msgspec.Struct):
    message: str
    type: str
    code: str
    param: str | None
    request_id: str


class ErrorEnvelope(msgspec.Struct):
    """The body of every error response."""

    error: ErrorBody


_ERROR_DESCRIPTIONS = {
    400: "`invalid_request` (`param` names the field) or `invalid_json`",
    401: "`invalid_api_key`: the key is missing, malformed, unknown or revoked",
    403: "`platform_key_required`: an end-user key on a management route",
    402: "`budget_exhausted`, `budget_suspended` or `wallet_insufficient`",
    404: "`not_found`: no such resource on a platform this key reaches",
    409: "`idempotency_key_in_use` or `conflict`",
    413: "`payload_too_large`: the body exceeds the configured limit",
    422: "`idempotency_key_reused`: the Idempotency-Key was sent with another request",
    503: "`not_ready`: the state store is unavailable",
}


def error_responses(*statuses: int, **overrides: str) -> dict[int, ResponseSpec]:
    """Error responses for a route; `overrides` maps `s400` etc. to other descriptions.

    400 and 503 are always listed: any route can fail validation of its path or
    query, and any route can lose Redis.
    """
    responses = {}
    for status in sorted({400, *statuses, 503}):
        description = overrides.get(f"s{status}", _ERROR_DESCRIPTIONS[status])
        responses[status] = ResponseSpec(
            data_container=ErrorEnvelope, description=description, generate_examples=False
        )
    return responses


def _request_bodies(app: Litestar) -> dict[tuple[str, str], type[msgspec.Struct]]:
    bodies = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            body = handler.opt.get("body")
            if body is None:
                continue
            for method in handler.http_methods:
                bodies[(route.path_format, method.lower())] = body
    return bodies


def build_document(app: Litestar) -> dict[str, Any]:
    """Litestar's document plus request bodies and the bearer security scheme."""
    document = app.openapi_schema.to_schema()
    bodies = _request_bodies(app)
    types = sorted(set(bodies.values()), key=lambda struct: struct.__name__)
    refs, schemas = msgspec.json.schema_components(types, ref_template=_REF_TEMPLATE)
    ref_of = dict(zip(types, refs, strict=True))

    components = document.setdefault("components", {})
    for name, schema in schemas.items():
        components.setdefault("schemas", {}).setdefault(name, schema)
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A platform key (sk-plat_…) or, where stated, an end-user key (sk-eu_…).",
    }

    for (path, method), body in bodies.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref_of[body]}},
            }
    return document


@get("/openapi.json", include_in_schema=False, media_type="application/json")
async def openapi_document(request: Request[Any, Any, Any]) -> bytes:
    """Serve the document, built once per worker since routes never change at run time."""
    state = request.app.state
    encoded = state.get(_STATE_KEY)
    if encoded is None:
        encoded = msgspec.json.encode(build_document(request.app))
        state[_STATE_KEY] = encoded
    return encoded


ROUTES = [openapi_document]
