"""The resources of a client, each in a sync and an async flavour."""

from assistiv.resources.api_keys import ApiKeys, AsyncApiKeys
from assistiv.resources.budgets import AsyncBudgets, Budgets
from assistiv.resources.chat import AsyncChat, AsyncCompletions, Chat, Completions
from assistiv.resources.end_users import AsyncEndUsers, EndUsers
from assistiv.resources.identity import AsyncMe, AsyncModels, Me, Models
from assistiv.resources.logs import AsyncLogs, Logs
from assistiv.resources.rate_limits import AsyncRateLimitsResource, RateLimitsResource
from assistiv.resources.responses import AsyncResponses, Responses
from assistiv.resources.wallet import AsyncWalletResource, WalletResource

__all__ = [
    "ApiKeys",
    "AsyncApiKeys",
    "AsyncBudgets",
    "AsyncChat",
    "AsyncCompletions",
    "AsyncEndUsers",
    "AsyncLogs",
    "AsyncMe",
    "AsyncModels",
    "AsyncRateLimitsResource",
    "AsyncResponses",
    "AsyncWalletResource",
    "Budgets",
    "Chat",
    "Completions",
    "EndUsers",
    "Logs",
    "Me",
    "Models",
    "RateLimitsResource",
    "Responses",
    "WalletResource",
]
