"""Python client of the Assistiv Gateway.

    from assistiv import Assistiv

    platform = Assistiv(api_key="sk-plat_…", platform_id="plat_…")
    created = platform.end_users.create(external_id="user-42")
    user = Assistiv(api_key=created.api_key.raw_key)
    reply = user.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}]
    )

`AsyncAssistiv` has the same resources and methods, awaited.
"""

from assistiv._base import __version__
from assistiv._client import Assistiv, AsyncAssistiv
from assistiv._errors import (
    AssistivAuthError,
    AssistivConnectionError,
    AssistivError,
    AssistivPaymentRequiredError,
    AssistivRateLimitError,
    AssistivTimeoutError,
)
from assistiv._models import (
    ApiKey,
    Budget,
    BudgetChange,
    ChatCompletion,
    ChatCompletionChunk,
    CreatedApiKey,
    CreatedEndUser,
    EndUser,
    EndUserIdentity,
    EndUserRateLimits,
    Identity,
    LogEntry,
    ModelInfo,
    ModelList,
    Page,
    PlatformIdentity,
    RateLimits,
    Response,
    ResponseStreamEvent,
    Transaction,
    Wallet,
)
from assistiv._pagination import AsyncPaginator, Paginator
from assistiv._streaming import AsyncStream, Stream
from assistiv.webhooks import verify_webhook

__all__ = [
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
