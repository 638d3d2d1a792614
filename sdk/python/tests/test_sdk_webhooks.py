"""`verify_webhook` against signatures made by the `standardwebhooks` package."""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from assistiv import verify_webhook

BODY = '{"event_type": "budget.low_balance", "data": {"platform_id": "plat_1"}}'


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def signed_headers(
    secret: str, body: str = BODY, *, message_id: str = "msg_1", age: float = 0
) -> dict[str, str]:
    """The three headers of a delivery of `body`, signed `age` seconds ago."""
    sent = datetime.now(tz=UTC) - timedelta(seconds=age)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent, body),
    }


def test_signature_of_standard_library_verifies() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    assert verify_webhook(BODY, headers, secret) is True
    assert verify_webhook(BODY.encode(), headers, secret) is True


def test_raw_secret_bytes_verify() -> None:
    secret = new_secret()
    raw = base64.b64decode(secret.removeprefix("whsec_"))
    assert verify_webhook(BODY, signed_headers(secret), raw) is True


def test_any_signature_of_rotation_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers(old)
    headers["webhook-signature"] += " " + signed_headers(new)["webhook-signature"]
    assert verify_webhook(BODY, headers, old) is True
    assert verify_webhook(BODY, headers, new) is True
    assert verify_webhook(BODY, headers, new_secret()) is False


def test_tampered_body_rejected() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    assert verify_webhook(BODY.replace("plat_1", "plat_2"), headers, secret) is False
    assert verify_webhook(BODY + " ", headers, secret) is False


def test_tampered_id_rejected() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    headers["webhook-id"] = "msg_2"
    assert verify_webhook(BODY, headers, secret) is False


def test_wrong_secret_rejected() -> None:
    assert verify_webhook(BODY, signed_headers(new_secret()), new_secret()) is False


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_timestamp_outside_tolerance_rejected(age: int) -> None:
    secret = new_secret()
    assert verify_webhook(BODY, signed_headers(secret, age=age), secret) is False


@pytest.mark.parametrize("age", [290, -290])
def test_timestamp_within_tolerance_verifies(age: int) -> None:
    secret = new_secret()
    assert verify_webhook(BODY, signed_headers(secret, age=age), secret) is True


def test_tolerance_measured_from_now_argument() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    later = time.time() + 3600
    assert verify_webhook(BODY, headers, secret, now=later) is False
    assert verify_webhook(BODY, headers, secret, now=later, tolerance_seconds=7200) is True


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_rejected(missing: str) -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    del headers[missing]
    assert verify_webhook(BODY, headers, secret) is False


def test_header_names_any_case_and_svix_names() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    upper = {name.title(): value for name, value in headers.items()}
    svix = {name.replace("webhook-", "svix-"): value for name, value in headers.items()}
    assert verify_webhook(BODY, upper, secret) is True
    assert verify_webhook(BODY, svix, secret) is True


def test_non_numeric_timestamp_rejected() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    headers["webhook-timestamp"] = "yesterday"
    assert verify_webhook(BODY, headers, secret) is False


def test_other_versions_and_malformed_entries_ignored() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    signature = headers["webhook-signature"].removeprefix("v1,")
    headers["webhook-signature"] = f"v1a,{signature} garbage v1,%%%"
    assert verify_webhook(BODY, headers, secret) is False
    headers["webhook-signature"] += f" v1,{signature}"
    assert verify_webhook(BODY, headers, secret) is True


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not*base64"])
def test_invalid_secret_raises(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        verify_webhook(BODY, signed_headers(new_secret()), secret)
