//! In-process caches of tenancy records, emptied through Redis pub/sub.
//!
//! Every writer of a key record, a platform or its provider configs publishes
//! `apikey:<hash>`, `platform:<platform id>` or `providers:<platform id>` on
//! [`layout::INVALIDATION_CHANNEL`]; every instance's listener evicts the
//! entry, so a revoked key fails everywhere at once. The TTL (at most
//! `key_cache_ttl_ms`) bounds staleness while the subscription is down, and
//! the listener empties every cache each time it (re)subscribes, because
//! messages published while it was away are lost.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::layout;

/// Entries kept per cache; past it, expired entries go first, then everything.
const MAX_ENTRIES: usize = 100_000;
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// A map whose entries expire after a TTL and can be evicted by name.
///
/// A lookup that misses reads Redis and then inserts. An eviction that lands
/// between that read and the insert would be lost, so [`TtlCache::generation`]
/// is taken before the read and [`TtlCache::insert`] drops values read before
/// the latest eviction.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
    evictions: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            evictions: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let (stored, value) = entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Return a token to pass to [`TtlCache::insert`] after reading the value.
    pub fn generation(&self) -> u64 {
        self.evictions.load(Ordering::Acquire)
    }

    /// Store `value` unless an eviction happened since `generation` was taken.
    pub fn insert(&self, key: K, value: V, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.evictions.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove(&self, key: &K) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.evictions.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.evictions.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// Something that evicts entries named by invalidation messages.
pub trait Invalidate: Send + Sync {
    /// Evict what `message` (such as `apikey:<hash>`) names.
    fn invalidate(&self, message: &str);
    /// Evict everything, after messages may have been missed.
    fn clear_all(&self);
}

/// Subscribe to the invalidation channel for as long as the runtime lives, resubscribing
/// after every disconnect.
pub fn spawn_listener(client: redis::Client, target: Arc<dyn Invalidate>) {
    tokio::spawn(async move {
        loop {
            match subscribe(&client).await {
                Ok(mut pubsub) => {
                    target.clear_all();
                    tracing::info!(
                        channel = layout::INVALIDATION_CHANNEL,
                        "cache invalidation subscribed"
                    );
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        match message.get_payload::<String>() {
                            Ok(payload) => target.invalidate(&payload),
                            Err(err) => {
                                tracing::warn!(error = %err, "invalidation message is not text");
                                target.clear_all();
                            }
                        }
                    }
                    tracing::warn!("cache invalidation subscription lost; resubscribing");
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cache invalidation subscribe failed; retrying");
                }
            }
            target.clear_all();
            tokio::time::sleep(RESUBSCRIBE_DELAY).await;
        }
    });
}

async fn subscribe(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(layout::INVALIDATION_CHANNEL).await?;
    Ok(pubsub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let cache = TtlCache::new(Duration::from_millis(0));
        cache.insert("a", 1, cache.generation());
        assert_eq!(cache.get(&"a"), None);
    }

    #[test]
    fn eviction_during_read_wins() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.remove(&"a");
        cache.insert("a", 1, generation);
        assert_eq!(cache.get(&"a"), None);
        cache.insert("a", 2, cache.generation());
        assert_eq!(cache.get(&"a"), Some(2));
        cache.clear();
        assert_eq!(cache.get(&"a"), None);
    }
}
