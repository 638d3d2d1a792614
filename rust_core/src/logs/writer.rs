//! The log writer: one script run per entry, retried with backoff while Redis fails.

use std::sync::OnceLock;
use std::time::Duration;

use redis::aio::ConnectionLike;

use super::entry::Entry;
use crate::layout;

/// Delay before the first retry of a failed write; each retry doubles it.
const FIRST_RETRY: Duration = Duration::from_millis(50);
/// Delays stop growing here.
const MAX_RETRY: Duration = Duration::from_secs(2);
/// Attempts before an entry is given up. The delays between them add up to
/// about 21 s, plus the time each failed attempt takes.
const ATTEMPTS: u32 = 16;

const MS_PER_DAY: u64 = 86_400_000;

/// The append script, shared with Python as `native.log_append_script()`.
/// `append_lib.lua` contains the function that writes an entry, which the
/// settlement script also runs.
pub const APPEND_SCRIPT: &str = concat!(
    include_str!("append_lib.lua"),
    "\n",
    include_str!("append.lua")
);

fn script() -> &'static redis::Script {
    static SCRIPT: OnceLock<redis::Script> = OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(APPEND_SCRIPT))
}

/// Writes entries to the platform's log stream, its end users' log indexes
/// and the request-id records.
#[derive(Clone, Debug)]
pub struct LogWriter {
    retention_ms: u64,
    test_clock: bool,
}

impl LogWriter {
    pub fn new(retention_days: u32, test_clock: bool) -> Self {
        Self {
            retention_ms: u64::from(retention_days.max(1)) * MS_PER_DAY,
            test_clock,
        }
    }

    /// Run the append script once; returns the entry's stream id.
    pub async fn append_once<C: ConnectionLike>(
        &self,
        conn: &mut C,
        entry: &Entry,
    ) -> redis::RedisResult<String> {
        let platform = &entry.platform_id;
        let mut invocation = script().prepare_invoke();
        invocation
            .key(layout::log_stream(platform))
            .key(layout::log_request(platform, &entry.request_id))
            .key(layout::test_clock(platform));
        if let Some(end_user_id) = &entry.end_user_id {
            invocation.key(layout::end_user_log_index(platform, end_user_id));
        }
        invocation.arg(if self.test_clock { "1" } else { "0" });
        self.add_entry_args(&mut invocation, entry);
        invocation.invoke_async(conn).await
    }

    /// Add the keys and arguments that `append_log_entry` needs for `entry` to
    /// `invocation`, after the script's own. The keys are the platform's log
    /// stream, the request-id record and, for a call with an end user, the end
    /// user's log index. The arguments are the retention, then the fields.
    pub fn add_entry(&self, invocation: &mut redis::ScriptInvocation<'_>, entry: &Entry) {
        let platform = &entry.platform_id;
        invocation
            .key(layout::log_stream(platform))
            .key(layout::log_request(platform, &entry.request_id));
        if let Some(end_user_id) = &entry.end_user_id {
            invocation.key(layout::end_user_log_index(platform, end_user_id));
        }
        self.add_entry_args(invocation, entry);
    }

    fn add_entry_args(&self, invocation: &mut redis::ScriptInvocation<'_>, entry: &Entry) {
        invocation.arg(self.retention_ms);
        for (name, value) in entry.fields() {
            invocation.arg(name).arg(value);
        }
    }

    /// Write `entry`, retrying with backoff while Redis fails. The script
    /// writes an entry once per request id, so a retry after a lost reply
    /// cannot duplicate it. Returns `false` when the entry was given up.
    pub async fn append<C: ConnectionLike>(&self, conn: &mut C, entry: &Entry) -> bool {
        let mut delay = FIRST_RETRY;
        for attempt in 1..=ATTEMPTS {
            match self.append_once(conn, entry).await {
                Ok(_) => return true,
                Err(err) if attempt < ATTEMPTS => {
                    tracing::warn!(
                        request_id = %entry.request_id,
                        platform_id = %entry.platform_id,
                        attempt,
                        error = %err,
                        "log entry not written; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY);
                }
                Err(err) => {
                    tracing::error!(
                        request_id = %entry.request_id,
                        platform_id = %entry.platform_id,
                        end_user_id = entry.end_user_id.as_deref().unwrap_or(""),
                        status_code = entry.status_code,
                        cost_nanos = entry.cost_nanos,
                        charged_nanos = entry.charged_nanos,
                        error = %err,
                        "log entry lost after {ATTEMPTS} attempts"
                    );
                }
            }
        }
        false
    }
}
