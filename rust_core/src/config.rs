//! The data plane's settings.
//!
//! The control plane's Python code reads the environment and the TOML file,
//! validates every value and hands the result over as JSON; this module only
//! deserializes that checked form into typed settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub redis_url: String,
    /// Unix socket on which the control plane (granian) listens.
    pub control_plane_socket: PathBuf,
    /// Key-hashing pepper, hex encoded.
    pub key_pepper: String,
    /// Current AES-256 master key, standard base64.
    pub master_key: String,
    /// Retired master keys kept to open older sealed values, standard base64.
    #[serde(default)]
    pub retired_master_keys: Vec<String>,
    /// Tokio worker threads; 0 means one per CPU.
    #[serde(default)]
    pub worker_threads: usize,
    pub max_body_bytes: usize,
    pub upstream_connect_timeout_ms: u64,
    pub upstream_first_byte_timeout_ms: u64,
    pub upstream_idle_timeout_ms: u64,
    /// Safety-net lifetime of cached key records; pub/sub invalidation is the fast path.
    pub key_cache_ttl_ms: u64,
    pub log_level: String,
    pub log_format: LogFormat,
    pub log_retention_days: u32,
    /// Days a stored response of the Responses API is kept after its conversation's last turn.
    pub response_retention_days: u32,
    /// Read "now" from a Redis key so tests can move time; never for production.
    #[serde(default)]
    pub test_clock: bool,
    /// Extra model catalog entries (TOML) merged over the shipped catalog.
    #[serde(default)]
    pub catalog_path: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn upstream_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_connect_timeout_ms)
    }

    pub fn upstream_first_byte_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_first_byte_timeout_ms)
    }

    pub fn upstream_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_idle_timeout_ms)
    }
}
