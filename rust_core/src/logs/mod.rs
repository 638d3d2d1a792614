//! Request logs: one structured entry per inference call, served, rejected or
//! failed upstream, in a per-platform Redis stream.
//!
//! Settled calls are written by the settlement, after the last byte reached
//! the client; calls rejected before admission or by admission (400, 402,
//! 403, 404, 413, 429) are written from the handler's error path through the
//! same [`LogWriter`]. A request whose key matches no platform (401 for a
//! missing, unknown or revoked key) has no log to go to and is only counted
//! in the `assistiv_errors_total` metric.
//!
//! Each entry goes, in one script run, to the platform's log stream (the
//! stream id is the entry's time and the list cursor), to the end user's log
//! index (a stream of the same ids, so that listing one end user's calls reads
//! only theirs), and to a request-id record that points at the entry. The
//! script trims entries past retention on every write. The control plane reads
//! all three; docs/logs.md describes the layout and the API.

mod entry;
mod writer;

use std::sync::Arc;

pub use entry::{Attempt, Entry};
pub use writer::{LogWriter, APPEND_SCRIPT};

use crate::error::GatewayError;
use crate::server::AppState;

/// Write `entry`, retrying while Redis fails; an entry given up is counted in
/// `assistiv_log_entries_lost_total` and logged at error level with its ids.
pub async fn write(state: &AppState, entry: &Entry) {
    let mut conn = state.redis.clone();
    if !state.logs.append(&mut conn, entry).await {
        state.metrics.log_entries_lost.inc();
    }
}

/// Log the call of `attempt` when `result` is an error that no settlement logs.
pub fn log_rejection<T>(
    state: &Arc<AppState>,
    attempt: &Attempt,
    result: &Result<T, GatewayError>,
) {
    if let Some(entry) = result.as_ref().err().and_then(|err| attempt.rejection(err)) {
        spawn_write(state, entry);
    }
}

/// Write `entry` in the background, off the client's path. The task is
/// tracked, so a graceful shutdown waits for it.
pub fn spawn_write(state: &Arc<AppState>, entry: Entry) {
    let task_state = state.clone();
    state.background.spawn(async move {
        write(&task_state, &entry).await;
    });
}
