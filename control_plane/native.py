"""The one module through which Python code reaches the Rust core."""

from control_plane._rust_core import (
    VERSION,
    DataPlane,
    Keyring,
    StartupError,
    error_codes,
    error_envelope,
    generate_key,
    hash_key,
    id_millis,
    init_logging,
    key_prefix,
    new_id,
    parse_key_kind,
    redis_key,
    start_data_plane,
)

__all__ = [
    "VERSION",
    "DataPlane",
    "Keyring",
    "StartupError",
    "error_codes",
    "error_envelope",
    "generate_key",
    "hash_key",
    "id_millis",
    "init_logging",
    "key_prefix",
    "new_id",
    "parse_key_kind",
    "redis_key",
    "start_data_plane",
]
