"""Gateway settings: one model for both planes, validated once at start-up.

Each setting comes, in order of precedence, from a command-line flag, an
``ASSISTIV_*`` environment variable, the TOML file given with ``--config``, or
its default. ``load_settings`` checks every value and raises ``SettingsError``
naming each bad setting, its source and its value (secrets are shown only by
length). The checked ``Settings`` travel to the control-plane workers as a
JSON file named by ``ASSISTIV_SETTINGS_FILE`` and to the Rust data plane
through ``data_plane_json``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec


class SettingsError(Exception):
    """One or more settings are invalid; the message lists each of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str | None = None
    data_dir: str = ".assistiv"
    control_plane_workers: int = 1
    data_plane_threads: int = 0
    master_key: str | None = None
    retired_master_keys: tuple[str, ...] = ()
    key_pepper: str | None = None
    log_level: str = "info"
    log_format: str = "text"
    max_body_bytes: int = 10 * 1024 * 1024
    upstream_connect_timeout_ms: int = 5_000
    upstream_first_byte_timeout_ms: int = 120_000
    upstream_idle_timeout_ms: int = 60_000
    key_cache_ttl_ms: int = 1_000
    log_retention_days: int = 30
    response_retention_days: int = 30
    shutdown_grace_seconds: float = 10.0
    demo: bool = True
    test_clock: bool = False
    test_routes: bool = False
    catalog_path: str | None = None
    # Filled in by the supervisor once the processes exist.
    control_plane_socket: str | None = None

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return msgspec.json.decode(text, type=cls)

    def data_plane_json(self) -> str:
        """The subset of settings the Rust data plane reads, as JSON."""
        return json.dumps(
            {
                "host": self.host,
                "port": self.port,
                "redis_url": self.redis_url,
                "control_plane_socket": self.control_plane_socket,
                "key_pepper": self.key_pepper,
                "master_key": self.master_key,
                "retired_master_keys": list(self.retired_master_keys),
                "worker_threads": self.data_plane_threads,
                "max_body_bytes": self.max_body_bytes,
                "upstream_connect_timeout_ms": self.upstream_connect_timeout_ms,
                "upstream_first_byte_timeout_ms": self.upstream_first_byte_timeout_ms,
                "upstream_idle_timeout_ms": self.upstream_idle_timeout_ms,
                "key_cache_ttl_ms": self.key_cache_ttl_ms,
                "log_level": self.log_level,
                "log_format": self.log_format,
                "log_retention_days": self.log_retention_days,
                "response_retention_days": self.response_retention_days,
                "test_clock": self.test_clock,
                "catalog_path": self.catalog_path,
            }
        )


# Checks: each takes the raw value (a string from the environment, or a TOML
# value) and returns the typed value or raises ValueError with the reason.


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError(f"must be an integer between {low} and {high}")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be an integer between {low} and {high}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(raw: Any) -> float:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number between {low} and {high}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _choice(*options: str) -> Callable[[Any], str]:
    def check(raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return check


def _text(raw: Any) -> str:
    value = str(raw).strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _redis_url(raw: Any) -> str:
    value = _text(raw)
    parts = urlsplit(value)
    if parts.scheme in {"redis", "rediss"} and parts.hostname:
        return value
    if parts.scheme == "unix" and parts.path:
        return value
    raise ValueError("must be redis://host:port[/db], rediss://… or unix:///path/to/socket")


def _master_key(raw: Any) -> str:
    value = _text(raw)
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be standard base64 of 32 random bytes") from None
    if len(decoded) != 32:
        raise ValueError(f"must decode to 32 bytes, got {len(decoded)}")
    return value


def _master_keys(raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return tuple(_master_key(item) for item in items if str(item).strip())


def _pepper(raw: Any) -> str:
    value = _text(raw).lower()
    try:
        decoded = bytes.fromhex(value)
    except ValueError:
        raise ValueError("must be hex") from None
    if len(decoded) < 32:
        raise ValueError(f"must be at least 32 bytes (64 hex characters), got {len(decoded)}")
    return value


def _host(raw: Any) -> str:
    value = _text(raw)
    if any(char.isspace() for char in value) or "/" in value:
        raise ValueError("must be an IP address or host name")
    return value


def _existing_file(raw: Any) -> str:
    path = Path(_text(raw))
    if not path.is_file():
        raise ValueError("file does not exist")
    return str(path)


@dataclass(frozen=True)
class _Field:
    name: str
    check: Callable[[Any], Any]
    secret: bool = False

    @property
    def variable(self) -> str:
        return f"ASSISTIV_{self.name.upper()}"


FIELDS: tuple[_Field, ...] = (
    _Field("host", _host),
    _Field("port", _integer(0, 65535)),
    _Field("redis_url", _redis_url, secret=True),
    _Field("data_dir", _text),
    _Field("control_plane_workers", _integer(1, 64)),
    _Field("data_plane_threads", _integer(0, 256)),
    _Field("master_key", _master_key, secret=True),
    _Field("retired_master_keys", _master_keys, secret=True),
    _Field("key_pepper", _pepper, secret=True),
    _Field("log_level", _choice("debug", "info", "warning", "error")),
    _Field("log_format", _choice("text", "json")),
    _Field("max_body_bytes", _integer(1024, 1024**3)),
    _Field("upstream_connect_timeout_ms", _integer(1, 600_000)),
    _Field("upstream_first_byte_timeout_ms", _integer(1, 3_600_000)),
    _Field("upstream_idle_timeout_ms", _integer(1, 3_600_000)),
    _Field("key_cache_ttl_ms", _integer(1, 1_000)),
    _Field("log_retention_days", _integer(1, 3650)),
    _Field("response_retention_days", _integer(1, 3650)),
    _Field("shutdown_grace_seconds", _number(0, 600)),
    _Field("demo", _boolean),
    _Field("test_clock", _boolean),
    _Field("test_routes", _boolean),
    _Field("catalog_path", _existing_file),
)

_BY_NAME = {field.name: field for field in FIELDS}


def _shown(field: _Field, raw: Any) -> str:
    if field.secret:
        return f"<{len(str(raw))} characters, hidden>"
    return repr(raw)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError([f"config file {path} does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"config file {path} is not valid TOML: {exc}"]) from None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> Settings:
    """Merge flags, environment, TOML file and defaults, checking every value."""
    flags = {key: value for key, value in (flags or {}).items() if value is not None}
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get("ASSISTIV_CONFIG")
    from_file = _read_toml(config_file) if config_file else {}

    problems = [
        f"unknown setting {key!r} in {config_file}; known settings: {', '.join(_BY_NAME)}"
        for key in from_file
        if key not in _BY_NAME
    ]
    values: dict[str, Any] = {}
    for field in FIELDS:
        if field.name in flags:
            raw, source = flags[field.name], f"--{field.name.replace('_', '-')}"
        elif field.variable in environ:
            raw, source = environ[field.variable], field.variable
        elif field.name in from_file:
            raw, source = from_file[field.name], f"{field.name} in {config_file}"
        else:
            continue
        try:
            values[field.name] = field.check(raw)
        except ValueError as exc:
            problems.append(f"invalid setting {source}={_shown(field, raw)}: {exc}")

    if problems:
        raise SettingsError(problems)
    return Settings(**values)
