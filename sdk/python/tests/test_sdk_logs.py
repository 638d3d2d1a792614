"""Request logs through the SDK: the cursor-following list and single entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from assistiv import AssistivError, LogEntry

from conftest import Flavour
from tests.fixtures.inference import Caller
from tests.fixtures.money import wait_until
from tests.fixtures.simulator import directive


def streamed_call(flavour: Flavour, user: Any, text: str) -> str:
    """Make one streamed chat call and return its request id."""
    content = "hi\n" + directive(text=text, usage={"prompt": 12, "completion": 3})
    stream = flavour.run(
        user.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": content}], stream=True
        )
    )
    flavour.events(stream)
    return str(stream.request_id)


def logged(flavour: Flavour, platform: Any, count: int, **filters: Any) -> list[LogEntry]:
    """Wait until the log lists `count` entries, then return them; entries follow the call."""

    def entries() -> list[LogEntry] | None:
        found = flavour.items(platform.logs.list(**filters))
        return found if len(found) >= count else None

    found = wait_until(entries, what=f"{count} log entries")
    assert len(found) == count
    return list(found)


def test_logs_list_follows_cursors(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key)
    request_ids = []
    for count in (1, 2, 3):
        request_ids.append(streamed_call(flavour, user, f"reply {count}"))
        # Entries are ordered by when they were written, after each call ends.
        logged(flavour, platform, count)

    entries = flavour.items(platform.logs.list(limit=1))
    assert [entry.request_id for entry in entries] == request_ids[::-1]
    pages = flavour.pages(platform.logs.list(limit=2))
    assert [len(page.data) for page in pages] == [2, 1]
    assert [page.has_more for page in pages] == [True, False]


def test_logs_get_returns_entry(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key)
    request_id = streamed_call(flavour, user, "logged reply")
    logged(flavour, platform, 1)

    entry = flavour.run(platform.logs.get(request_id))
    assert isinstance(entry, LogEntry)
    assert entry.request_id == request_id
    assert entry.platform_id == caller.platform_id
    assert entry.end_user_id == caller.end_user_id
    assert entry.key_id == caller.end_user_key_id
    assert entry.endpoint == "/v1/chat/completions"
    assert entry.model == "gpt-4o-mini"
    assert entry.provider == "openai"
    assert entry.stream is True
    assert entry.status_code == 200
    assert entry.error_code is None
    assert entry.input_tokens == 12
    assert entry.output_tokens == 3
    assert isinstance(entry.cost_usd, Decimal)
    assert entry.cost_usd > 0
    assert isinstance(entry.created_at, datetime)


def test_logs_list_filters(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    user = flavour.client(caller.end_user_key, max_retries=0)
    served = streamed_call(flavour, user, "fine")
    with pytest.raises(AssistivError) as caught:
        flavour.run(
            user.chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )
        )
    logged(flavour, platform, 2)

    rejected = flavour.items(platform.logs.list(status="4xx"))
    assert [entry.request_id for entry in rejected] == [caught.value.request_id]
    assert rejected[0].error_code == "model_not_found"
    by_model = flavour.items(platform.logs.list(model="gpt-4o-mini"))
    assert [entry.request_id for entry in by_model] == [served]
    mine = flavour.items(platform.logs.list(end_user_id=caller.end_user_id))
    assert len(mine) == 2

    now = datetime.now(tz=UTC)
    assert len(flavour.items(platform.logs.list(start=now - timedelta(hours=1)))) == 2
    assert flavour.items(platform.logs.list(start=now + timedelta(hours=1))) == []
    assert flavour.items(platform.logs.list(end=now - timedelta(hours=1))) == []


def test_logs_get_unknown_raises_not_found(flavour: Flavour, caller: Caller) -> None:
    platform = flavour.client(caller.platform_key)
    with pytest.raises(AssistivError) as caught:
        flavour.run(platform.logs.get("req_00000000000000000000000000"))
    assert caught.value.status == 404
    assert caught.value.code == "not_found"
