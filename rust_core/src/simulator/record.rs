//! The memory of recent requests behind `GET /_sim/requests`.
//!
//! Each request to a provider path is stored with its method, path, query,
//! headers and body. Credentials never stay in memory: the values of
//! `authorization`, `x-api-key`, `x-goog-api-key` and `api-key`, and the
//! `key` query parameter, are replaced by `sha256:<hex>` of the key (after the
//! scheme for `authorization`). Each entry also tracks how its response ended,
//! so tests can see that a client went away in the middle of a stream.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

/// Headers whose values are credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
];

/// The way the response to a request ended, as far as the simulator can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    InProgress = 0,
    /// The last byte was handed to the connection.
    Completed = 1,
    /// The directive cut the connection.
    Cut = 2,
    /// The directive ended the stream with an in-stream error.
    Errored = 3,
    /// The directive stalled the response and the client is still connected.
    Hung = 4,
    /// The client closed the connection before the response ended.
    Disconnected = 5,
}

impl Outcome {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Outcome::Completed,
            2 => Outcome::Cut,
            3 => Outcome::Errored,
            4 => Outcome::Hung,
            5 => Outcome::Disconnected,
            _ => Outcome::InProgress,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InProgress => "in_progress",
            Outcome::Completed => "completed",
            Outcome::Cut => "cut",
            Outcome::Errored => "errored",
            Outcome::Hung => "hung",
            Outcome::Disconnected => "disconnected",
        }
    }
}

/// The shared outcome of one request.
#[derive(Debug, Default)]
pub struct OutcomeCell(AtomicU8);

impl OutcomeCell {
    pub fn get(&self) -> Outcome {
        Outcome::from_u8(self.0.load(Ordering::Acquire))
    }

    fn set(&self, outcome: Outcome) {
        self.0.store(outcome as u8, Ordering::Release);
    }
}

/// Updates the outcome of one request. Dropped before the response ended (or while it hangs),
/// it records that the client went away.
#[derive(Debug)]
pub struct Tracker {
    cell: Arc<OutcomeCell>,
    changed: Option<Arc<Notify>>,
}

impl Tracker {
    /// Create a tracker that belongs to no recorder, and a handle to read what it records.
    #[cfg(test)]
    pub fn detached() -> (Tracker, Arc<OutcomeCell>) {
        let cell = Arc::new(OutcomeCell::default());
        let tracker = Tracker {
            cell: cell.clone(),
            changed: None,
        };
        (tracker, cell)
    }

    /// Record that the response ended normally, unless a fault already ended it.
    pub fn complete(&self) {
        if self.cell.get() == Outcome::InProgress {
            self.finish(Outcome::Completed);
        }
    }

    pub fn finish(&self, outcome: Outcome) {
        self.cell.set(outcome);
        if let Some(changed) = &self.changed {
            changed.notify_waiters();
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if matches!(self.cell.get(), Outcome::InProgress | Outcome::Hung) {
            self.finish(Outcome::Disconnected);
        }
    }
}

/// One recorded request.
#[derive(Debug)]
pub struct Entry {
    pub seq: u64,
    pub received_at_ms: u64,
    pub provider: &'static str,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names and values, credentials fingerprinted.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub tag: Option<String>,
    pub status: u16,
    pub outcome: Arc<OutcomeCell>,
}

/// The facts about a request that [`Recorder::record`] stores.
#[derive(Debug)]
pub struct NewEntry<'a> {
    pub provider: &'static str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
    pub tag: Option<String>,
    pub status: u16,
}

/// The conditions entries of a listing must meet.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub tag: Option<String>,
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, entry: &Entry) -> bool {
        match &self.tag {
            Some(tag) => entry.tag.as_deref() == Some(tag.as_str()),
            None => true,
        }
    }
}

/// A bounded list of recent requests, newest last.
#[derive(Debug)]
pub struct Recorder {
    limit: usize,
    entries: Mutex<VecDeque<Arc<Entry>>>,
    next_seq: AtomicU64,
    changed: Arc<Notify>,
}

impl Recorder {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            entries: Mutex::new(VecDeque::with_capacity(limit.min(4096))),
            next_seq: AtomicU64::new(1),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Store a request (unless the limit is 0) and return the tracker of its outcome.
    pub fn record(&self, new: NewEntry<'_>) -> Tracker {
        let cell = Arc::new(OutcomeCell::default());
        if self.limit == 0 {
            return Tracker {
                cell,
                changed: None,
            };
        }
        let entry = Arc::new(Entry {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            received_at_ms: crate::ids::now_millis(),
            provider: new.provider,
            method: new.method.to_owned(),
            path: new.path.to_owned(),
            query: new.query.map(redact_query),
            headers: redact_headers(new.headers),
            body: new.body,
            tag: new.tag,
            status: new.status,
            outcome: cell.clone(),
        });
        {
            let mut entries = self.lock();
            if entries.len() == self.limit {
                entries.pop_front();
            }
            entries.push_back(entry);
        }
        self.changed.notify_waiters();
        Tracker {
            cell,
            changed: Some(self.changed.clone()),
        }
    }

    /// Matching entries, newest first.
    pub fn list(&self, filter: &Filter) -> Vec<Arc<Entry>> {
        let entries = self.lock();
        let limit = filter.limit.unwrap_or(usize::MAX);
        entries
            .iter()
            .rev()
            .filter(|entry| filter.matches(entry))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Wait up to `timeout` until at least `min` entries match, then list them.
    pub async fn wait(&self, filter: &Filter, min: usize, timeout: Duration) -> Vec<Arc<Entry>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found = self.list(filter);
            if found.len() >= min {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.list(filter);
            }
        }
    }

    pub fn clear(&self) {
        self.lock().clear();
        self.changed.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Entry>>> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Fingerprint a credential as `sha256:<hex>`.
pub fn fingerprint(secret: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let shown = if SECRET_HEADERS.contains(&name.as_str()) {
                redact_credential(&value)
            } else {
                value.into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// Fingerprint a credential, keeping an authorization scheme such as `Bearer` readable.
fn redact_credential(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, token)) if !scheme.is_empty() => {
            format!("{scheme} {}", fingerprint(token.trim()))
        }
        _ => fingerprint(value),
    }
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("key", value)) => format!("key={}", fingerprint(value)),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Serialize)]
struct EntryJson<'a> {
    seq: u64,
    received_at_ms: u64,
    provider: &'a str,
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: serde_json::Map<String, serde_json::Value>,
    /// The body as sent when it is JSON, else null.
    body: Option<&'a RawValue>,
    /// The body as text when it is not JSON, else null.
    body_text: Option<String>,
    tag: Option<&'a str>,
    status: u16,
    outcome: &'static str,
}

/// Render `{"data": [entries]}` for `GET /_sim/requests`.
pub fn to_json(entries: &[Arc<Entry>]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Listing<'a> {
        data: Vec<EntryJson<'a>>,
    }
    // Serialized directly, not through `serde_json::Value`, so each body keeps its exact bytes.
    let data: Vec<EntryJson<'_>> = entries.iter().map(|entry| entry_json(entry)).collect();
    serde_json::to_vec(&Listing { data }).unwrap_or_default()
}

fn entry_json(entry: &Entry) -> EntryJson<'_> {
    let mut headers = serde_json::Map::new();
    for (name, value) in &entry.headers {
        let joined = match headers.get(name).and_then(|v| v.as_str()) {
            Some(previous) => format!("{previous}, {value}"),
            None => value.clone(),
        };
        headers.insert(name.clone(), serde_json::Value::String(joined));
    }
    let body = serde_json::from_slice::<&RawValue>(&entry.body).ok();
    let body_text = match body {
        Some(_) => None,
        None if entry.body.is_empty() => None,
        None => Some(String::from_utf8_lossy(&entry.body).into_owned()),
    };
    EntryJson {
        seq: entry.seq,
        received_at_ms: entry.received_at_ms,
        provider: entry.provider,
        method: &entry.method,
        path: &entry.path,
        query: entry.query.as_deref(),
        headers,
        body,
        body_text,
        tag: entry.tag.as_deref(),
        status: entry.status,
        outcome: entry.outcome.get().as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn new_entry<'a>(
        headers: &'a HeaderMap,
        tag: Option<&str>,
        body: &'static [u8],
    ) -> NewEntry<'a> {
        NewEntry {
            provider: "openai",
            method: "POST",
            path: "/v1/chat/completions",
            query: Some("alt=sse&key=secret"),
            headers,
            body: Bytes::from_static(body),
            tag: tag.map(str::to_owned),
            status: 200,
        }
    }

    #[test]
    fn credentials_are_fingerprinted() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer sk-test"));
        headers.insert("x-api-key", HeaderValue::from_static("ant-key"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let recorder = Recorder::new(10);
        let _tracker = recorder.record(new_entry(&headers, None, b"{}"));
        let json: serde_json::Value =
            serde_json::from_slice(&to_json(&recorder.list(&Filter::default()))).unwrap();
        let entry = &json["data"][0];
        assert_eq!(
            entry["headers"]["authorization"],
            format!("Bearer {}", fingerprint("sk-test"))
        );
        assert_eq!(entry["headers"]["x-api-key"], fingerprint("ant-key"));
        assert_eq!(entry["headers"]["content-type"], "application/json");
        assert_eq!(
            entry["query"],
            format!("alt=sse&key={}", fingerprint("secret"))
        );
        assert_eq!(entry["body"], serde_json::json!({}));
        assert_eq!(entry["outcome"], "in_progress");
    }

    #[test]
    fn limit_keeps_the_newest() {
        let headers = HeaderMap::new();
        let recorder = Recorder::new(2);
        for _ in 0..3 {
            let _ = recorder.record(new_entry(&headers, None, b"{}"));
        }
        let seqs: Vec<u64> = recorder
            .list(&Filter::default())
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![3, 2]);
    }

    #[test]
    fn filter_by_tag_and_limit() {
        let headers = HeaderMap::new();
        let recorder = Recorder::new(10);
        for tag in ["a", "b", "a", "a"] {
            let _ = recorder.record(new_entry(&headers, Some(tag), b"{}"));
        }
        let filter = Filter {
            tag: Some("a".to_owned()),
            limit: Some(2),
        };
        let seqs: Vec<u64> = recorder.list(&filter).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![4, 3]);
    }

    #[test]
    fn zero_limit_records_nothing() {
        let headers = HeaderMap::new();
        let recorder = Recorder::new(0);
        let _ = recorder.record(new_entry(&headers, None, b"{}"));
        assert!(recorder.list(&Filter::default()).is_empty());
    }

    #[test]
    fn non_json_body_kept_as_text() {
        let headers = HeaderMap::new();
        let recorder = Recorder::new(1);
        let _ = recorder.record(new_entry(&headers, None, b"not json"));
        let json: serde_json::Value =
            serde_json::from_slice(&to_json(&recorder.list(&Filter::default()))).unwrap();
        assert_eq!(json["data"][0]["body"], serde_json::Value::Null);
        assert_eq!(json["data"][0]["body_text"], "not json");
    }

    #[test]
    fn dropped_tracker_marks_disconnect_unless_finished() {
        let headers = HeaderMap::new();
        let recorder = Recorder::new(2);
        let first = recorder.record(new_entry(&headers, Some("x"), b"{}"));
        let second = recorder.record(new_entry(&headers, Some("y"), b"{}"));
        second.finish(Outcome::Completed);
        drop(first);
        drop(second);
        let entries = recorder.list(&Filter::default());
        assert_eq!(entries[0].outcome.get(), Outcome::Completed);
        assert_eq!(entries[1].outcome.get(), Outcome::Disconnected);
    }

    #[tokio::test]
    async fn wait_returns_once_enough_entries_arrive() {
        let recorder = Arc::new(Recorder::new(10));
        let filter = Filter {
            tag: Some("late".to_owned()),
            limit: None,
        };
        let writer = recorder.clone();
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            let headers = HeaderMap::new();
            let _ = writer.record(new_entry(&headers, Some("late"), b"{}"));
        });
        let found = recorder.wait(&filter, 1, Duration::from_secs(10)).await;
        task.await.unwrap();
        assert_eq!(found.len(), 1);
    }
}
