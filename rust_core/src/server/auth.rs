//! Caller authentication and the tenancy records the hot path reads.
//!
//! A bearer key is hashed with the server pepper and looked up in the
//! in-process cache, then with one HGETALL of `apikey:<hash>` on a miss.
//! Unknown keys are cached too (as absent), so a client retrying a bad key
//! costs Redis one read per TTL. Provider configs are read the same way, their
//! API keys decrypted once per cache fill.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use serde::Deserialize;

use super::cache::{Invalidate, TtlCache};
use super::AppState;
use crate::error::GatewayError;
use crate::keyhash::{self, KeyKind};
use crate::layout;
use crate::translate::{self, Provider};

pub const PLATFORM_ID_HEADER: &str = "x-assistiv-platform-id";

/// The record of a valid key.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    pub kind: KeyKind,
    pub key_id: String,
    pub platform_id: String,
    /// The platform owner, for platform keys.
    pub owner_id: Option<String>,
    /// The end user, for end-user keys.
    pub end_user_id: Option<String>,
}

/// An authenticated end user.
#[derive(Clone, Debug)]
pub struct EndUser {
    pub key_id: String,
    pub platform_id: String,
    pub end_user_id: String,
}

/// A provider API key in memory; its `Debug` output never shows the key.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// One provider config of a platform, decrypted.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// `None` when the stored key could not be decrypted (a missing retired master key).
    pub api_key: Option<SecretKey>,
    /// Without a trailing slash; the provider's public URL when the config sets none.
    pub base_url: String,
    pub enabled: bool,
}

/// Every provider config of one platform.
pub type PlatformProviders = HashMap<Provider, ProviderConfig>;

/// The caches the hot path reads, evicted together by the invalidation listener.
pub struct TenancyCache {
    keys: TtlCache<String, Option<Arc<KeyRecord>>>,
    providers: TtlCache<String, Arc<PlatformProviders>>,
    owner_platforms: TtlCache<String, Arc<Vec<String>>>,
}

impl TenancyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            keys: TtlCache::new(ttl),
            providers: TtlCache::new(ttl),
            owner_platforms: TtlCache::new(ttl),
        }
    }
}

impl Invalidate for TenancyCache {
    fn invalidate(&self, message: &str) {
        match message.split_once(':') {
            Some(("apikey", hash)) => self.keys.remove(&hash.to_owned()),
            Some(("providers", platform_id)) => self.providers.remove(&platform_id.to_owned()),
            Some(("owner", owner_id)) => self.owner_platforms.remove(&owner_id.to_owned()),
            Some(("platform", platform_id)) => {
                self.providers.remove(&platform_id.to_owned());
                self.owner_platforms.clear();
            }
            _ => self.clear_all(),
        }
    }

    fn clear_all(&self) {
        self.keys.clear();
        self.providers.clear();
        self.owner_platforms.clear();
    }
}

fn store_unavailable(err: redis::RedisError) -> GatewayError {
    GatewayError::new("not_ready", "the state store is unavailable; retry shortly").with_cause(err)
}

fn invalid_key(message: &str) -> GatewayError {
    GatewayError::new("invalid_api_key", message)
}

/// Extract the raw key from `Authorization: Bearer <key>`.
fn bearer(headers: &HeaderMap) -> Result<&str, GatewayError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| invalid_key("Missing API key: send it as `Authorization: Bearer <key>`"))?;
    let value = value
        .to_str()
        .map_err(|_| invalid_key("The Authorization header is not valid text"))?;
    let (scheme, key) = value
        .split_once(' ')
        .ok_or_else(|| invalid_key("The Authorization header must read `Bearer <key>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(invalid_key(
            "The Authorization header must read `Bearer <key>`",
        ));
    }
    Ok(key.trim())
}

fn parse_record(fields: &HashMap<String, String>) -> Option<KeyRecord> {
    let kind = match fields.get("kind")?.as_str() {
        "platform" => KeyKind::Platform,
        "end_user" => KeyKind::EndUser,
        _ => return None,
    };
    let record = KeyRecord {
        kind,
        key_id: fields.get("key_id")?.clone(),
        platform_id: fields.get("platform_id")?.clone(),
        owner_id: fields.get("owner_id").cloned(),
        end_user_id: fields.get("end_user_id").cloned(),
    };
    let complete = match kind {
        KeyKind::Platform => true,
        KeyKind::EndUser => record.end_user_id.is_some(),
    };
    complete.then_some(record)
}

/// Authenticate the bearer key of a request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Arc<KeyRecord>, GatewayError> {
    let raw = bearer(headers)?;
    if keyhash::parse_kind(raw).is_none() {
        return Err(invalid_key("Incorrect API key provided"));
    }
    let hash = keyhash::hash_key(&state.pepper, raw);
    let cache = &state.tenancy.keys;
    let record = match cache.get(&hash) {
        Some(record) => record,
        None => {
            let generation = cache.generation();
            let mut conn = state.redis.clone();
            let fields: HashMap<String, String> = redis::cmd("HGETALL")
                .arg(layout::api_key(&hash))
                .query_async(&mut conn)
                .await
                .map_err(store_unavailable)?;
            let record = parse_record(&fields).map(Arc::new);
            if record.is_none() && !fields.is_empty() {
                tracing::error!(key_hash_prefix = &hash[..8], "key record is malformed");
            }
            cache.insert(hash, record.clone(), generation);
            record
        }
    };
    record.ok_or_else(|| invalid_key("Incorrect API key provided, or the key was revoked"))
}

impl KeyRecord {
    /// Return the end user of an end-user key, or 403 `end_user_key_required` for a platform key.
    pub fn end_user(&self) -> Result<EndUser, GatewayError> {
        match (self.kind, &self.end_user_id) {
            (KeyKind::EndUser, Some(end_user_id)) => Ok(EndUser {
                key_id: self.key_id.clone(),
                platform_id: self.platform_id.clone(),
                end_user_id: end_user_id.clone(),
            }),
            _ => Err(GatewayError::new(
                "end_user_key_required",
                "This endpoint takes an end-user key (sk-eu_...); platform keys manage \
                 the platform and cannot run inference",
            )),
        }
    }
}

async fn owner_platforms(
    state: &AppState,
    owner_id: &str,
) -> Result<Arc<Vec<String>>, GatewayError> {
    let cache = &state.tenancy.owner_platforms;
    if let Some(platforms) = cache.get(&owner_id.to_owned()) {
        return Ok(platforms);
    }
    let generation = cache.generation();
    let mut conn = state.redis.clone();
    let platforms: Vec<String> = redis::cmd("SMEMBERS")
        .arg(layout::owner_platforms(owner_id))
        .query_async(&mut conn)
        .await
        .map_err(store_unavailable)?;
    let platforms = Arc::new(platforms);
    cache.insert(owner_id.to_owned(), platforms.clone(), generation);
    Ok(platforms)
}

/// Resolve the platform a request acts on.
///
/// An end-user key acts on its own platform. A platform key acts on the
/// platform named by `X-Assistiv-Platform-Id`, which must belong to the key's
/// owner. Without the header it acts on its own platform, unless its owner has
/// several: then the request gets 400 `platform_id_required`.
pub async fn platform_of(
    state: &AppState,
    record: &KeyRecord,
    headers: &HeaderMap,
) -> Result<String, GatewayError> {
    let requested = headers
        .get(PLATFORM_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty());
    let forbidden = |platform: &str| {
        GatewayError::new(
            "platform_forbidden",
            format!("This key cannot act on platform {platform}"),
        )
    };
    let own = record.platform_id.as_str();
    match (record.kind, requested) {
        (KeyKind::EndUser, Some(other)) if other != own => Err(forbidden(other)),
        (KeyKind::EndUser, _) => Ok(own.to_owned()),
        (KeyKind::Platform, Some(other)) if other == own => Ok(own.to_owned()),
        (KeyKind::Platform, Some(other)) => {
            let reachable = match &record.owner_id {
                Some(owner) => owner_platforms(state, owner)
                    .await?
                    .iter()
                    .any(|p| p == other),
                None => false,
            };
            if reachable {
                Ok(other.to_owned())
            } else {
                Err(forbidden(other))
            }
        }
        (KeyKind::Platform, None) => {
            let several = match &record.owner_id {
                Some(owner) => owner_platforms(state, owner).await?.len() > 1,
                None => false,
            };
            if several {
                return Err(GatewayError::new(
                    "platform_id_required",
                    "This key's owner has several platforms: name one in the \
                     X-Assistiv-Platform-Id header",
                ));
            }
            Ok(own.to_owned())
        }
    }
}

#[derive(Deserialize)]
struct StoredConfig {
    api_key: String,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

fn decrypt_configs(
    state: &AppState,
    platform_id: &str,
    fields: HashMap<String, String>,
) -> PlatformProviders {
    let mut configs = PlatformProviders::new();
    for (name, json) in fields {
        let Some(provider) = Provider::parse(&name) else {
            tracing::warn!(platform_id, provider = %name, "ignoring a config of an unknown provider");
            continue;
        };
        let stored: StoredConfig = match serde_json::from_str(&json) {
            Ok(stored) => stored,
            Err(err) => {
                tracing::error!(platform_id, provider = %name, error = %err, "provider config is malformed");
                continue;
            }
        };
        let aad = format!("provider:{platform_id}:{name}");
        let api_key = match state.keyring.open(&stored.api_key, aad.as_bytes()) {
            Ok(plain) => String::from_utf8(plain).ok().map(SecretKey),
            Err(err) => {
                tracing::error!(platform_id, provider = %name, error = %err, "provider API key could not be decrypted");
                None
            }
        };
        let base_url = stored
            .base_url
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| translate::default_base_url(provider).to_owned());
        configs.insert(
            provider,
            ProviderConfig {
                api_key,
                base_url: base_url.trim().trim_end_matches('/').to_owned(),
                enabled: stored.enabled,
            },
        );
    }
    configs
}

/// Load the provider configs of a platform, decrypting them once per cache fill.
pub async fn provider_configs(
    state: &AppState,
    platform_id: &str,
) -> Result<Arc<PlatformProviders>, GatewayError> {
    let cache = &state.tenancy.providers;
    if let Some(configs) = cache.get(&platform_id.to_owned()) {
        return Ok(configs);
    }
    let generation = cache.generation();
    let mut conn = state.redis.clone();
    let fields: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(layout::provider_configs(platform_id))
        .query_async(&mut conn)
        .await
        .map_err(store_unavailable)?;
    let configs = Arc::new(decrypt_configs(state, platform_id, fields));
    cache.insert(platform_id.to_owned(), configs.clone(), generation);
    Ok(configs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn bearer_forms() {
        assert_eq!(bearer(&headers("Bearer sk-eu_x")).unwrap(), "sk-eu_x");
        assert_eq!(bearer(&headers("bearer  sk-eu_x ")).unwrap(), "sk-eu_x");
        assert_eq!(
            bearer(&headers("Basic abc")).unwrap_err().code,
            "invalid_api_key"
        );
        assert_eq!(bearer(&HeaderMap::new()).unwrap_err().status(), 401);
    }

    #[test]
    fn records_need_their_kind_fields() {
        let mut fields = HashMap::from([
            ("kind".to_owned(), "end_user".to_owned()),
            ("key_id".to_owned(), "key_1".to_owned()),
            ("platform_id".to_owned(), "plat_1".to_owned()),
        ]);
        assert!(parse_record(&fields).is_none());
        fields.insert("end_user_id".to_owned(), "eu_1".to_owned());
        let record = parse_record(&fields).unwrap();
        assert_eq!(record.end_user().unwrap().end_user_id, "eu_1");
        fields.insert("kind".to_owned(), "platform".to_owned());
        let record = parse_record(&fields).unwrap();
        assert_eq!(record.end_user().unwrap_err().code, "end_user_key_required");
    }

    #[test]
    fn invalidation_messages_evict_their_entry() {
        let cache = TenancyCache::new(Duration::from_secs(60));
        cache
            .keys
            .insert("h1".to_owned(), None, cache.keys.generation());
        cache
            .keys
            .insert("h2".to_owned(), None, cache.keys.generation());
        cache.invalidate("apikey:h1");
        assert!(cache.keys.get(&"h1".to_owned()).is_none());
        assert!(cache.keys.get(&"h2".to_owned()).is_some());
        cache.invalidate("something-new");
        assert!(cache.keys.get(&"h2".to_owned()).is_none());
    }
}
