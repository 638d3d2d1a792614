"""Response models, as msgspec Structs decoded straight from the gateway's JSON.

Structs ignore fields they do not declare, so a newer gateway that adds
fields keeps working with this client. Timestamps of the management API are
`datetime` in UTC; USD amounts are `Decimal`, exact to the nano-dollar.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

import msgspec

Item = TypeVar("Item")


class Model(msgspec.Struct, kw_only=True):
    """Base of every response model."""


class Page(Model, Generic[Item]):
    """One page of a list. Pass `next_cursor` as `cursor` to get the next page."""

    data: list[Item]
    has_more: bool
    next_cursor: str | None = None


# Keys and end users


class ApiKey(Model):
    """A platform or end-user key as lists show it: the prefix, never the key."""

    id: str
    name: str | None
    key_prefix: str
    created_at: datetime
    last_used_at: datetime | None = None


class CreatedApiKey(Model):
    """A new key. `raw_key` appears in this response only: store it now."""

    id: str
    name: str | None
    key_prefix: str
    raw_key: str
    created_at: datetime


class EndUser(Model):
    id: str
    external_id: str
    display_name: str | None
    metadata: dict[str, Any]
    created_at: datetime


class EndUserApiKey(Model):
    """The key minted by `end_users.create`. `raw_key` appears in this response only."""

    id: str
    key_prefix: str
    raw_key: str


class CreatedEndUser(EndUser):
    """The end user of an `end_users.create` call and the key minted by that call."""

    api_key: EndUserApiKey


# Money: budgets, wallet, rate limits


class Budget(Model):
    """An end user's budget and this period's spending, in USD."""

    end_user_id: str
    amount_usd: Decimal
    period: str
    granted_usd: Decimal
    spent_usd: Decimal
    remaining_usd: Decimal
    reserved_usd: Decimal
    available_usd: Decimal
    is_suspended: bool
    low_balance_threshold_usd: Decimal | None
    period_start: datetime
    resets_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Transaction(Model):
    """A ledger entry of a budget or the wallet. `amount_usd` is signed."""

    id: str
    type: str
    amount_usd: Decimal
    balance_after_usd: Decimal
    reason: str
    request_id: str | None
    idempotency_key: str | None
    created_at: datetime


class BudgetChange(Model):
    """The transaction a top-up or debit wrote, with the budget after it."""

    transaction: Transaction
    budget: Budget


class Wallet(Model):
    """The platform's wallet, which pays the provider cost of every call."""

    platform_id: str
    balance_usd: Decimal
    reserved_usd: Decimal
    available_usd: Decimal
    low_balance_threshold_usd: Decimal | None
    updated_at: datetime | None


class RateLimits(Model):
    """Limits per end user; None is unlimited."""

    requests_per_minute: int | None
    tokens_per_minute: int | None
    requests_per_day: int | None


class EndUserRateLimits(RateLimits):
    """An end user's limits in force, and the names of those that override the defaults."""

    end_user_id: str
    overridden: list[str]


# Logs


class LogEntry(Model):
    """One inference call. Input tokens include cached ones, output tokens reasoning ones."""

    request_id: str
    created_at: datetime
    platform_id: str
    end_user_id: str | None
    key_id: str | None
    endpoint: str
    model: str | None
    provider: str | None
    stream: bool
    status_code: int
    error_code: str | None
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    usage_estimated: bool
    cost_usd: Decimal
    charged_usd: Decimal
    latency_ms: int
    time_to_first_token_ms: int | None
    upstream_latency_ms: int | None
    app: str | None = None
    tool: str | None = None


# Identity (`me.get`)


class DefaultBudget(Model):
    amount_usd: Decimal
    period: str


class PlatformSettings(Model):
    display_name: str | None = None
    markup_percent: Decimal = Decimal(0)
    default_budget: DefaultBudget | None = None
    skills_enabled: bool = False
    low_balance_threshold_usd: Decimal | None = None
    wallet_low_balance_threshold_usd: Decimal | None = None


class Platform(Model):
    id: str
    name: str
    slug: str
    created_at: datetime
    settings: PlatformSettings


class KeyIdentity(Model):
    """The key that made the request."""

    id: str
    name: str | None
    key_prefix: str


class PlatformIdentity(Model, tag="platform", tag_field="key_type"):
    """A platform key: the platform it acts on and every platform it reaches."""

    platform: Platform
    api_key: KeyIdentity
    platform_ids: list[str]

    @property
    def key_type(self) -> Literal["platform"]:
        return "platform"


class EndUserIdentity(Model, tag="end_user", tag_field="key_type"):
    """An end-user key: its end user and the end user's platform."""

    platform_id: str
    end_user: EndUser
    api_key: KeyIdentity

    @property
    def key_type(self) -> Literal["end_user"]:
        return "end_user"


Identity = PlatformIdentity | EndUserIdentity


# Models (`models.list`)


class ModelInfo(Model):
    """A model the platform can call; pass `id` as `model` to inference calls."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = ""


class ModelList(Model):
    object: str
    data: list[ModelInfo]


# Chat completions (OpenAI's wire format)


class FunctionCall(Model):
    name: str
    arguments: str


class ToolCall(Model):
    id: str
    type: str
    function: FunctionCall


class ChatCompletionMessage(Model):
    role: str
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    annotations: list[Any] | None = None


class Choice(Model):
    index: int
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: Any = None


class CompletionUsage(Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class ChatCompletion(Model):
    id: str
    object: str
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


class ChoiceDeltaFunctionCall(Model):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(Model):
    index: int
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaFunctionCall | None = None


class ChoiceDelta(Model):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class ChunkChoice(Model):
    index: int
    delta: ChoiceDelta
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(Model):
    """One event of a streamed chat completion."""

    id: str
    object: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None


# Responses (OpenAI's wire format)


class ResponseUsage(Model):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None


class Response(Model):
    """A model response. `output` contains the items as the gateway sent them."""

    id: str
    object: str
    created_at: int
    status: str
    model: str
    output: list[dict[str, Any]]
    usage: ResponseUsage | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    instructions: Any = None
    previous_response_id: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def output_text(self) -> str:
        """The text of every `output_text` part of the output messages, joined."""
        texts = [
            part.get("text", "")
            for item in self.output
            if item.get("type") == "message"
            for part in item.get("content") or []
            if part.get("type") == "output_text"
        ]
        return "".join(texts)


class ResponseStreamEvent(Model):
    """One event of a streamed response; which fields are set depends on `type`."""

    type: str
    sequence_number: int | None = None
    response: Response | None = None
    output_index: int | None = None
    content_index: int | None = None
    item_id: str | None = None
    item: dict[str, Any] | None = None
    part: dict[str, Any] | None = None
    delta: str | None = None
    text: str | None = None
    arguments: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None
