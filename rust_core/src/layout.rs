//! The Redis key layout, the one definition that both planes use.
//!
//! Every key that belongs to a platform carries the hash tag `{<platform id>}`
//! so that one script can touch all keys of a request in a Redis Cluster.
//! Records found by key hash (`apikey:<hash>`) are single-key reads with no tag.
//! Python reaches these functions through `redis_key(name, *parts)`.

/// Prefix of every key the gateway writes, so that one Redis can be shared.
pub const NAMESPACE: &str = "ag";

/// Pub/sub channel on which cache invalidations are published.
pub const INVALIDATION_CHANNEL: &str = "ag:invalidate";

/// Key record (hash) of an API key, found by its HMAC hash.
pub fn api_key(key_hash: &str) -> String {
    format!("{NAMESPACE}:apikey:{key_hash}")
}

/// Platform record (hash).
pub fn platform(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:platform")
}

/// Set of all platform ids.
pub fn platforms_index() -> String {
    format!("{NAMESPACE}:platforms")
}

/// Set of platform ids owned by one owner.
pub fn owner_platforms(owner_id: &str) -> String {
    format!("{NAMESPACE}:owner:{owner_id}:platforms")
}

/// Hash of provider configs of a platform: field = provider, value = JSON with a sealed key.
pub fn provider_configs(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:providers")
}

/// Resolve a layout name and its parts, for the Python binding.
pub fn by_name(name: &str, parts: &[&str]) -> Option<String> {
    let key = match (name, parts) {
        ("api_key", [hash]) => api_key(hash),
        ("platform", [pid]) => platform(pid),
        ("platforms_index", []) => platforms_index(),
        ("owner_platforms", [owner]) => owner_platforms(owner),
        ("provider_configs", [pid]) => provider_configs(pid),
        ("invalidation_channel", []) => INVALIDATION_CHANNEL.to_owned(),
        _ => return None,
    };
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_keys_share_hash_tag() {
        assert_eq!(platform("plat_1"), "ag:{plat_1}:platform");
        assert_eq!(provider_configs("plat_1"), "ag:{plat_1}:providers");
    }

    #[test]
    fn by_name_checks_arity() {
        assert_eq!(by_name("platform", &["p"]), Some(platform("p")));
        assert_eq!(by_name("platform", &[]), None);
        assert_eq!(by_name("nope", &[]), None);
    }
}
