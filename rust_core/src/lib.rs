//! Assistiv Gateway's native core: the data-plane HTTP server and the hot-path
//! helpers (key hashing, encryption, ids, error envelope) that both planes share.
//!
//! Everything here is plain Rust. The PyO3 binding lives in `python.rs` and is
//! compiled only with the `python` feature, so `cargo test` needs no interpreter.

pub mod catalog;
pub mod config;
pub mod crypto;
pub mod error;
pub mod ids;
pub mod keyhash;
pub mod layout;
pub mod logging;
pub mod logs;
pub mod money;
pub mod responses;
pub mod server;
pub mod simulator;
pub mod sse;
pub mod translate;

#[cfg(feature = "python")]
mod python;
