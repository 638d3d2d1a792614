"""The public surface of the `assistiv` package, pinned: a change here is a change of API."""

from __future__ import annotations

import inspect
from importlib.resources import files
from typing import Any

import pytest

import assistiv
from assistiv import Assistiv, AsyncAssistiv

EXPORTS = [
    "ApiKey",
    "Assistiv",
    "AssistivAuthError",
    "AssistivConnectionError",
    "AssistivError",
    "AssistivPaymentRequiredError",
    "AssistivRateLimitError",
    "AssistivTimeoutError",
    "AsyncAssistiv",
    "AsyncPaginator",
    "AsyncStream",
    "Budget",
    "BudgetChange",
    "ChatCompletion",
    "ChatCompletionChunk",
    "CreatedApiKey",
    "CreatedEndUser",
    "EndUser",
    "EndUserIdentity",
    "EndUserRateLimits",
    "Identity",
    "LogEntry",
    "ModelInfo",
    "ModelList",
    "Page",
    "Paginator",
    "PlatformIdentity",
    "RateLimits",
    "Response",
    "ResponseStreamEvent",
    "Stream",
    "Transaction",
    "Wallet",
    "__version__",
    "verify_webhook",
]

CLIENT = "(api_key, platform_id, *, base_url, timeout, max_retries, default_headers, http_client)"

# Each resource's public methods, as name and parameters.
RESOURCES = {
    "api_keys": ["create(*, name)", "list(*, limit)", "revoke(key_id)"],
    "end_users": [
        "create(*, external_id, display_name, metadata)",
        "delete(end_user_id)",
        "get(end_user_id)",
        "list(*, limit)",
        "update(end_user_id, *, display_name, metadata)",
    ],
    "budgets": [
        "create(end_user_id, *, amount_usd, period, low_balance_threshold_usd, idempotency_key)",
        "debit(end_user_id, *, amount_usd, reason, idempotency_key)",
        "get(end_user_id)",
        "topup(end_user_id, *, amount_usd, reason, idempotency_key)",
        "transactions(end_user_id, *, limit)",
        "update(end_user_id, *, amount_usd, period, low_balance_threshold_usd, is_suspended)",
    ],
    "rate_limits": [
        "clear(end_user_id)",
        "get(end_user_id)",
        "get_defaults()",
        "set(end_user_id, *, requests_per_minute, tokens_per_minute, requests_per_day)",
        "set_defaults(*, requests_per_minute, tokens_per_minute, requests_per_day)",
    ],
    "logs": ["get(request_id)", "list(*, end_user_id, model, status, start, end, limit)"],
    "models": ["list()"],
    "me": ["get()"],
    "chat.completions": ["create(*, model, messages, stream, **params)"],
    "responses": ["create(*, model, input, stream, **params)"],
    "wallet": ["get()", "transactions(*, limit)"],
}

# Methods that return an iterator at once and fetch pages while it is consumed.
PAGINATED = {
    "api_keys.list",
    "end_users.list",
    "budgets.transactions",
    "logs.list",
    "wallet.transactions",
}


def described(name: str, method: Any) -> str:
    """`name(params)` with `*` before keyword-only parameters, as Python writes them."""
    parts: list[str] = []
    starred = False
    for parameter in inspect.signature(method).parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            parts.append(f"**{parameter.name}")
        else:
            parts.append(parameter.name)
    return f"{name}({', '.join(parts)})"


def resource(client: Any, path: str) -> Any:
    for attribute in path.split("."):
        client = getattr(client, attribute)
    return client


def public_methods(obj: Any) -> dict[str, Any]:
    return {
        name: getattr(obj, name)
        for name in dir(obj)
        if not name.startswith("_") and callable(getattr(obj, name))
    }


def test_exports_pinned() -> None:
    assert assistiv.__all__ == EXPORTS
    for name in EXPORTS:
        assert hasattr(assistiv, name), name


def test_client_constructors_pinned() -> None:
    assert described("", Assistiv.__init__).replace("(self, ", "(") == CLIENT
    assert described("", AsyncAssistiv.__init__).replace("(self, ", "(") == CLIENT


@pytest.mark.parametrize("cls", [Assistiv, AsyncAssistiv])
def test_resource_methods_pinned(cls: type[Any]) -> None:
    client = cls("sk-plat_" + "k" * 43, base_url="http://127.0.0.1:9")
    for path, expected in RESOURCES.items():
        methods = public_methods(resource(client, path))
        assert sorted(described(name, method) for name, method in methods.items()) == expected


def test_async_methods_awaitable_except_paginated() -> None:
    client = AsyncAssistiv("sk-plat_" + "k" * 43, base_url="http://127.0.0.1:9")
    for path in RESOURCES:
        for name, method in public_methods(resource(client, path)).items():
            expected = f"{path}.{name}" not in PAGINATED
            assert inspect.iscoroutinefunction(method) is expected, f"{path}.{name}"


def test_sync_methods_not_awaitable() -> None:
    client = Assistiv("sk-plat_" + "k" * 43, base_url="http://127.0.0.1:9")
    for path in RESOURCES:
        for name, method in public_methods(resource(client, path)).items():
            assert not inspect.iscoroutinefunction(method), f"{path}.{name}"


def test_error_hierarchy() -> None:
    assert issubclass(assistiv.AssistivAuthError, assistiv.AssistivError)
    assert issubclass(assistiv.AssistivPaymentRequiredError, assistiv.AssistivError)
    assert issubclass(assistiv.AssistivRateLimitError, assistiv.AssistivError)
    assert issubclass(assistiv.AssistivConnectionError, assistiv.AssistivError)
    assert issubclass(assistiv.AssistivTimeoutError, assistiv.AssistivConnectionError)
    error = assistiv.AssistivRateLimitError("slow down", status=429, retry_after=2.5)
    assert (error.status, error.code, error.message, error.request_id) == (
        429,
        None,
        "slow down",
        None,
    )
    assert error.retry_after == 2.5


def test_package_is_typed() -> None:
    assert files("assistiv").joinpath("py.typed").is_file()
