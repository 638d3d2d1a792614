"""`GET /openapi.json` documents every management route, its schemas and its errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.tenancy import Api

PLATFORM = "/v1/platforms/{platform_id}"
END_USER = f"{PLATFORM}/end-users/{{end_user_id}}"

# (method, path): (success status, request body schema or None, error statuses)
ROUTES: dict[tuple[str, str], tuple[str, str | None, set[str]]] = {
    ("get", PLATFORM): ("200", None, {"400", "401", "403", "404", "503"}),
    ("patch", PLATFORM): ("200", "UpdatePlatform", {"400", "401", "403", "404", "413", "503"}),
    ("get", f"{PLATFORM}/api-keys"): ("200", None, {"400", "401", "403", "404", "503"}),
    ("post", f"{PLATFORM}/api-keys"): (
        "201",
        "CreateApiKey",
        {"400", "401", "403", "404", "413", "503"},
    ),
    ("delete", f"{PLATFORM}/api-keys/{{key_id}}"): (
        "204",
        None,
        {"400", "401", "403", "404", "503"},
    ),
    ("get", f"{PLATFORM}/end-users"): ("200", None, {"400", "401", "403", "404", "503"}),
    ("post", f"{PLATFORM}/end-users"): (
        "201",
        "CreateEndUser",
        {"200", "400", "401", "403", "404", "413", "503"},
    ),
    ("get", END_USER): ("200", None, {"400", "401", "403", "404", "503"}),
    ("patch", END_USER): ("200", "UpdateEndUser", {"400", "401", "403", "404", "413", "503"}),
    ("delete", END_USER): ("204", None, {"400", "401", "403", "404", "503"}),
    ("get", f"{END_USER}/api-keys"): ("200", None, {"400", "401", "403", "404", "503"}),
    ("post", f"{END_USER}/api-keys"): (
        "201",
        "CreateApiKey",
        {"400", "401", "403", "404", "413", "503"},
    ),
    ("delete", f"{END_USER}/api-keys/{{key_id}}"): (
        "204",
        None,
        {"400", "401", "403", "404", "503"},
    ),
    ("get", "/v1/me"): ("200", None, {"400", "401", "403", "503"}),
}


@pytest.fixture(scope="module")
def document(gateway: Any) -> dict[str, Any]:
    with gateway.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_document_is_openapi_31(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Assistiv Gateway management API"


def test_bearer_security_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=str)
def test_route_documented(document: dict[str, Any], method: str, path: str) -> None:
    success, body, errors = ROUTES[(method, path)]
    operation = document["paths"][path][method]
    assert operation["summary"]
    assert operation["operationId"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert set(operation["responses"]) == {success, *errors}
    if body is None:
        assert "requestBody" not in operation
    else:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{body}"}
        assert _resolve(document, schema)["additionalProperties"] is False


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=str)
def test_errors_use_envelope(document: dict[str, Any], method: str, path: str) -> None:
    errors = ROUTES[(method, path)][2]
    responses = document["paths"][path][method]["responses"]
    for status in errors - {"200"}:
        schema = responses[status]["content"]["application/json"]["schema"]
        envelope = _resolve(document, schema)
        error = _resolve(document, envelope["properties"]["error"])
        assert set(error["required"]) == {"message", "type", "code", "param", "request_id"}
        assert responses[status]["description"]


def test_only_tenancy_and_public_routes(document: dict[str, Any]) -> None:
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    }
    assert set(ROUTES) <= documented
    assert not any(path.startswith(("/_test", "/healthz")) for _, path in documented)


def test_end_user_create_body_schema(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["CreateEndUser"]
    assert schema["required"] == ["external_id"]
    assert set(schema["properties"]) == {"external_id", "display_name", "metadata"}
    assert schema["properties"]["external_id"]["maxLength"] == 255


def test_update_platform_body_schema(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["UpdatePlatform"]
    assert set(schema["properties"]) == {
        "display_name",
        "markup_percent",
        "default_budget",
        "skills_enabled",
        "low_balance_threshold_usd",
        "wallet_low_balance_threshold_usd",
    }
    assert schema["properties"]["markup_percent"]["maximum"] == 1000


def test_list_response_schema(document: dict[str, Any]) -> None:
    operation = document["paths"][f"{PLATFORM}/end-users"]["get"]
    schema = _resolve(
        document, operation["responses"]["200"]["content"]["application/json"]["schema"]
    )
    assert set(schema["properties"]) == {"data", "has_more", "next_cursor"}
    names = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert names["limit"]["schema"]["minimum"] == 1
    assert names["limit"]["schema"]["maximum"] == 100
    assert names["limit"]["schema"]["default"] == 20
    assert "cursor" in names


def test_me_documents_platform_header(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/me"]["get"]
    headers = [p for p in operation["parameters"] if p["in"] == "header"]
    assert [p["name"] for p in headers] == ["X-Assistiv-Platform-Id"]
    assert "platform_id_required" in operation["responses"]["400"]["description"]
    assert "platform_forbidden" in operation["responses"]["403"]["description"]


def test_document_served_without_key(api: Api) -> None:
    assert api.get("/openapi.json").status_code == 200
