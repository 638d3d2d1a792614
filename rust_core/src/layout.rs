//! The Redis key layout, the one definition that both planes use.
//!
//! Every key that belongs to a platform carries the hash tag `{<platform id>}`
//! so that one script can touch all keys of a request in a Redis Cluster.
//! Records found by key hash (`apikey:<hash>`) are single-key reads with no tag.
//! Python reaches these functions through `redis_key(name, *parts)`.

/// Prefix of every key the gateway writes, so that one Redis can be shared.
pub const NAMESPACE: &str = "ag";

/// Pub/sub channel on which cache invalidations are published. Messages:
/// `apikey:<hash>` (key revoked or its end user deleted), `platform:<platform id>`
/// (settings changed), `owner:<owner id>` (the owner's platform set changed) and
/// `end_user:<platform id>:<end user id>` (end user deleted).
pub const INVALIDATION_CHANNEL: &str = "ag:invalidate";

/// Key record (hash) of an API key, found by its HMAC hash. Fields: `kind`
/// (`platform` or `end_user`), `key_id`, `platform_id`, `owner_id` (platform
/// keys), `end_user_id` (end-user keys), `created_at` (Unix ms). Revoking a key
/// deletes this record and publishes `apikey:<hash>` on [`INVALIDATION_CHANNEL`].
pub fn api_key(key_hash: &str) -> String {
    format!("{NAMESPACE}:apikey:{key_hash}")
}

/// Platform record (hash): `id`, `name`, `slug`, `owner_id`, `created_at` (Unix
/// ms), and `settings` as JSON.
pub fn platform(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:platform")
}

/// Set of all platform ids.
pub fn platforms_index() -> String {
    format!("{NAMESPACE}:platforms")
}

/// Set of platform ids owned by one owner; a platform key reaches all of them.
pub fn owner_platforms(owner_id: &str) -> String {
    format!("{NAMESPACE}:owner:{owner_id}:platforms")
}

/// Owner record (hash): `id`, `email` (lower-cased, empty for an owner made
/// without one), `created_at` (Unix ms).
pub fn owner(owner_id: &str) -> String {
    format!("{NAMESPACE}:owner:{owner_id}")
}

/// Lower-cased owner email to owner id (hash), written with HSETNX.
pub fn owners_by_email() -> String {
    format!("{NAMESPACE}:owners_by_email")
}

/// Platform slug to platform id (hash), written with HSETNX so slugs are unique.
pub fn platform_slugs() -> String {
    format!("{NAMESPACE}:platform_slugs")
}

/// Platform keys of a platform (hash): key id to JSON metadata
/// (`id`, `name`, `key_prefix`, `key_hash`, `created_at`).
pub fn platform_keys(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:platform_keys")
}

/// Last use of each key of a platform (hash): key id to Unix ms, written coalesced.
pub fn key_last_used(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:key_last_used")
}

/// End-user record (hash): `id`, `external_id`, `display_name` (absent when
/// null), `metadata` (JSON object), `created_at` (Unix ms).
pub fn end_user(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}")
}

/// External id to end-user id (hash), written with HSETNX so one external id
/// makes one end user.
pub fn end_users_by_external_id(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu_by_external_id")
}

/// All end-user ids of a platform (sorted set, score 0), paged with ZRANGEBYLEX
/// because ids sort by creation time.
pub fn end_users_index(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu_index")
}

/// Keys of one end user (hash): key id to JSON metadata, as for platform keys.
pub fn end_user_keys(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:keys")
}

/// Provider configs of a platform (hash): provider name to JSON
/// (`api_key` sealed with AAD `provider:<platform id>:<provider>`, `base_url`,
/// `enabled`, `updated_at`). Changes publish `providers:<platform id>`.
pub fn provider_configs(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:providers")
}

/// The id of the demo platform (string), set when `serve` provisioned one on an empty
/// store; each start then repoints that platform's provider configs.
pub fn demo_platform() -> String {
    format!("{NAMESPACE}:demo_platform")
}

/// Resolve a layout name and its parts, for the Python binding.
pub fn by_name(name: &str, parts: &[&str]) -> Option<String> {
    let key = match (name, parts) {
        ("api_key", [hash]) => api_key(hash),
        ("platform", [pid]) => platform(pid),
        ("platforms_index", []) => platforms_index(),
        ("owner_platforms", [oid]) => owner_platforms(oid),
        ("owner", [oid]) => owner(oid),
        ("owners_by_email", []) => owners_by_email(),
        ("platform_slugs", []) => platform_slugs(),
        ("platform_keys", [pid]) => platform_keys(pid),
        ("key_last_used", [pid]) => key_last_used(pid),
        ("end_user", [pid, eu]) => end_user(pid, eu),
        ("end_users_by_external_id", [pid]) => end_users_by_external_id(pid),
        ("end_users_index", [pid]) => end_users_index(pid),
        ("end_user_keys", [pid, eu]) => end_user_keys(pid, eu),
        ("provider_configs", [pid]) => provider_configs(pid),
        ("demo_platform", []) => demo_platform(),
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
