//! Money on the hot path: cost metering, the Lua scripts that move money
//! atomically in Redis, admission before an upstream call, settlement after
//! its last byte, and the rate-limit headers.
//!
//! Money is integer nano-USD (10^-9 USD) everywhere; prices are nano-USD per
//! million tokens. The scripts under `rust_core/lua/` are the one copy of every
//! state change: Rust runs them here, Python gets the same text through
//! `native.lua_script`.

pub mod admission;
pub mod cost;
pub mod headers;
pub mod keys;
pub mod scripts;
pub mod settlement;

pub use admission::{admit, AdmitRequest, Admitted, BucketReport, Rejection};
pub use cost::{charge_nanos, cost_nanos, markup_bp, max_cost_nanos, prompt_bound, Prices};
pub use settlement::{settle, SettleRequest, Settled};

/// Nano-USD in one US dollar.
pub const NANOS_PER_USD: u64 = 1_000_000_000;
