"""The SDK's models and parameters match the gateway's `/openapi.json`, field by field.

Each management operation the SDK calls is paired with the model its response
decodes into and the method that sends its body. The test walks the response
schema and the model together, comparing the field names of every object
level, so a field added to or renamed in the API fails here until the SDK
follows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from assistiv import (
    ApiKey,
    Assistiv,
    Budget,
    BudgetChange,
    CreatedApiKey,
    CreatedEndUser,
    EndUser,
    EndUserRateLimits,
    Identity,
    LogEntry,
    Page,
    RateLimits,
    Transaction,
    Wallet,
)

from tests.harness import Gateway

# operationId: the type the SDK decodes its success response into.
RESPONSES: dict[str, Any] = {
    "listApiKeys": Page[ApiKey],
    "createApiKey": CreatedApiKey,
    "listEndUsers": Page[EndUser],
    "createEndUser": CreatedEndUser,
    "getEndUser": EndUser,
    "updateEndUser": EndUser,
    "getMe": Identity,
    "createBudget": Budget,
    "getBudget": Budget,
    "updateBudget": Budget,
    "topUpBudget": BudgetChange,
    "debitBudget": BudgetChange,
    "listBudgetTransactions": Page[Transaction],
    "getWallet": Wallet,
    "listWalletTransactions": Page[Transaction],
    "getRateLimits": RateLimits,
    "setRateLimits": RateLimits,
    "getEndUserRateLimits": EndUserRateLimits,
    "setEndUserRateLimits": EndUserRateLimits,
    "listLogs": Page[LogEntry],
    "getLog": LogEntry,
}

# operationId: the SDK method that sends its body, and the parameters that are not body fields.
BODIES: dict[str, tuple[Callable[[Any], Any], set[str]]] = {
    "createApiKey": (lambda client: client.api_keys.create, set()),
    "createEndUser": (lambda client: client.end_users.create, set()),
    "updateEndUser": (lambda client: client.end_users.update, {"end_user_id"}),
    "createBudget": (lambda client: client.budgets.create, {"end_user_id", "idempotency_key"}),
    "updateBudget": (lambda client: client.budgets.update, {"end_user_id"}),
    "topUpBudget": (lambda client: client.budgets.topup, {"end_user_id", "idempotency_key"}),
    "debitBudget": (lambda client: client.budgets.debit, {"end_user_id", "idempotency_key"}),
    "setRateLimits": (lambda client: client.rate_limits.set_defaults, set()),
    "setEndUserRateLimits": (lambda client: client.rate_limits.set, {"end_user_id"}),
}

# operationId: the SDK method whose keyword arguments are the query parameters, besides `cursor`.
QUERIES: dict[str, Callable[[Any], Any]] = {
    "listApiKeys": lambda client: client.api_keys.list,
    "listEndUsers": lambda client: client.end_users.list,
    "listBudgetTransactions": lambda client: client.budgets.transactions,
    "listWalletTransactions": lambda client: client.wallet.transactions,
    "listLogs": lambda client: client.logs.list,
}

# Operations the SDK does not call, with no body to decode where the status is 204.
NOT_IN_SDK = {
    "getPlatform",
    "updatePlatform",
    "listEndUserApiKeys",
    "createEndUserApiKey",
    "revokeEndUserApiKey",
}
NO_CONTENT = {"revokeApiKey", "deleteEndUser", "deleteEndUserRateLimits"}


@pytest.fixture(scope="module")
def document(gateway: Gateway) -> dict[str, Any]:
    with gateway.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture(scope="module")
def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path_item in document["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = operation
    return found


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def alternatives(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null schemas a value may match, resolved."""
    schema = resolve(document, schema)
    options = schema.get("oneOf") or schema.get("anyOf")
    if options is None:
        return [schema]
    return [resolve(document, option) for option in options if option.get("type") != "null"]


def structs_of(info: msgspec.inspect.Type) -> list[msgspec.inspect.StructType]:
    """The Struct types a field of this type may hold, looking through None and lists."""
    if isinstance(info, msgspec.inspect.StructType):
        return [info]
    if isinstance(info, msgspec.inspect.UnionType):
        return [struct for option in info.types for struct in structs_of(option)]
    if isinstance(info, msgspec.inspect.ListType):
        return structs_of(info.item_type)
    return []


def field_names(struct: msgspec.inspect.StructType) -> set[str]:
    names = {field.encode_name for field in struct.fields}
    if struct.tag_field is not None:
        names.add(struct.tag_field)
    return names


def compare(
    document: dict[str, Any], schema: dict[str, Any], struct: msgspec.inspect.StructType, at: str
) -> None:
    """Assert that `struct` and the object `schema` name the same fields, at every level."""
    properties = schema.get("properties")
    if properties is None:
        return  # a generic page item documented only as "object"
    assert field_names(struct) == set(properties), at
    for field in struct.fields:
        nested = structs_of(field.type)
        if not nested:
            continue
        property_schema = resolve(document, properties[field.encode_name])
        if property_schema.get("type") == "array":
            property_schema = property_schema["items"]
        for option_struct, option_schema in zip(
            nested, alternatives(document, property_schema), strict=True
        ):
            compare(document, option_schema, option_struct, f"{at}.{field.encode_name}")


def success_schema(operation: dict[str, Any]) -> dict[str, Any]:
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            return dict(response["content"]["application/json"]["schema"])
    raise AssertionError(f"{operation['operationId']} has no success response")


def test_every_operation_accounted_for(operations: dict[str, dict[str, Any]]) -> None:
    covered = set(RESPONSES) | NOT_IN_SDK | NO_CONTENT
    assert set(operations) == covered


@pytest.mark.parametrize("operation_id", sorted(RESPONSES))
def test_response_fields_match(
    document: dict[str, Any], operations: dict[str, dict[str, Any]], operation_id: str
) -> None:
    schema = success_schema(operations[operation_id])
    structs = structs_of(msgspec.inspect.type_info(RESPONSES[operation_id]))
    options = alternatives(document, schema)
    assert len(structs) == len(options)
    for struct, option in zip(structs, options, strict=True):
        compare(document, option, struct, operation_id)


@pytest.mark.parametrize("operation_id", sorted(BODIES))
def test_body_parameters_match(
    document: dict[str, Any], operations: dict[str, dict[str, Any]], operation_id: str
) -> None:
    method_of, not_body = BODIES[operation_id]
    method = method_of(Assistiv("sk-plat_" + "k" * 43, base_url="http://127.0.0.1:9"))
    parameters = set(inspect.signature(method).parameters) - not_body
    body = operations[operation_id]["requestBody"]["content"]["application/json"]["schema"]
    assert parameters == set(resolve(document, body)["properties"])


@pytest.mark.parametrize("operation_id", sorted(QUERIES))
def test_query_parameters_match(operations: dict[str, dict[str, Any]], operation_id: str) -> None:
    method = QUERIES[operation_id](Assistiv("sk-plat_" + "k" * 43, base_url="http://127.0.0.1:9"))
    documented = operations[operation_id]["parameters"]
    query = {parameter["name"] for parameter in documented if parameter["in"] == "query"}
    path = {parameter["name"] for parameter in documented if parameter["in"] == "path"}
    parameters = set(inspect.signature(method).parameters) - path
    assert parameters | {"cursor"} == query
