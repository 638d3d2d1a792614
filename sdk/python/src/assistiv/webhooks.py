"""Verification of webhook signatures (Standard Webhooks, as Svix signs them).

A delivery carries three headers: `webhook-id`, `webhook-timestamp` (Unix
seconds) and `webhook-signature`, a space-separated list of `v1,<base64>`
entries; during a secret rotation it contains one entry per secret. Each entry is
the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with
the secret's decoded bytes. Svix's `svix-id`, `svix-timestamp` and
`svix-signature` headers are accepted in their place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "verify_webhook"]

DEFAULT_TOLERANCE_SECONDS = 300
_SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
_VERSION = "v1"


def _secret_bytes(secret: str | bytes) -> bytes:
    """Return the HMAC key: a `whsec_` secret base64-decoded, or raw bytes as given."""
    if isinstance(secret, bytes):
        key = secret
    else:
        encoded = secret.strip().removeprefix(_SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError(
                "the webhook secret is not valid base64; pass the `whsec_…` value as shown"
            ) from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    return lowered.get(f"webhook-{name}") or lowered.get(f"svix-{name}")


def _signatures(header: str) -> Iterable[bytes]:
    """Yield the decoded signatures of the `v1` entries, skipping other versions and bad ones."""
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != _VERSION or not encoded:
            continue
        try:
            yield base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Return whether `body` is a delivery signed with `secret`, sent within the tolerance.

    `body` is the raw request body, exactly as received; a parsed and re-encoded
    body does not verify. `headers` may use any letter case. The timestamp must
    be within `tolerance_seconds` (5 minutes) of `now` (the current Unix time)
    in either direction, which bounds replays. Any `v1` entry that matches is
    enough. Raises `ValueError` only for a secret that is empty or not base64,
    which is a configuration error rather than a bad delivery.
    """
    key = _secret_bytes(secret)
    message_id = _header(headers, "id")
    timestamp = _header(headers, "timestamp")
    signature = _header(headers, "signature")
    if not message_id or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False

    payload = body.encode() if isinstance(body, str) else body
    signed = f"{message_id}.{timestamp}.".encode() + payload
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    return any(hmac.compare_digest(expected, given) for given in _signatures(signature))
