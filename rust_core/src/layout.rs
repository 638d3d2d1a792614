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

/// A stored response of the Responses API (hash), written only when the request
/// had `store: true`, and expiring `response_retention_days` after the last
/// response of its conversation. Fields: `end_user_id` (only that end user may
/// read it), `previous_response_id` (empty on a first turn), `ancestors` (JSON
/// array of the earlier response ids of its chain, oldest first), `model`,
/// `created_at` (Unix s), `response` (the Response object as JSON),
/// `input_items` (JSON array of its own input items, with ids) and `messages`
/// (JSON array of the chat messages it adds to the conversation: its input
/// without instructions, then the assistant's reply).
pub fn response(platform_id: &str, response_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:resp:{response_id}")
}

/// The id of the demo platform (string), set when `serve` provisioned one on an empty
/// store; each start then repoints that platform's provider configs.
pub fn demo_platform() -> String {
    format!("{NAMESPACE}:demo_platform")
}

/// Money settings of a platform (hash), integers mirrored from its settings JSON
/// whenever they change: `markup_bp` (basis points), `default_amount_nano` and
/// `default_period` (the default budget, absent when none), `budget_threshold_nano`
/// and `wallet_threshold_nano` (low-balance thresholds, absent when none).
pub fn money_settings(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:money_settings")
}

/// Wallet of a platform (hash): `balance_nano`, `reserved_nano` (sum of live
/// holds), `low` ("1" after a low-balance event until the balance recovers),
/// `updated_at_ms`.
pub fn wallet(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:wallet")
}

/// Reservations on a wallet (sorted set): member `<request id>:<nano-USD>`, score
/// the expiry in Unix ms.
pub fn wallet_holds(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:wallet_holds")
}

/// Ledger of a wallet (stream), one entry per balance change: `id` (txn_), `type`
/// (topup, usage, adjustment), `amount_nano` (signed), `balance_after_nano`,
/// `reason`, `request_id`, `idempotency_key` (the credit's reference), `created_at` (ms).
pub fn wallet_ledger(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:wallet_ledger")
}

/// Wallet credit references (hash): reference to the JSON of its transaction, so
/// that a reference credits once.
pub fn wallet_references(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:wallet_references")
}

/// Budget of an end user (hash): `amount_nano`, `period` (one_time, daily,
/// monthly), `granted_nano` (amount plus top-ups minus debits this period),
/// `spent_nano` (usage this period), `reserved_nano` (sum of live holds),
/// `period_start_ms`, `resets_at_ms` (0 for one_time), `threshold_nano` (-1 for
/// the platform's default), `suspended` and `low` ("0" or "1"), `created_at_ms`,
/// `updated_at_ms`. Its balance is `granted_nano - spent_nano`.
pub fn budget(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:budget")
}

/// Reservations on a budget (sorted set), as [`wallet_holds`].
pub fn budget_holds(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:budget_holds")
}

/// Ledger of a budget (stream), as [`wallet_ledger`] with types topup, debit,
/// usage, reset and adjustment; its amounts sum to the balance.
pub fn budget_ledger(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:budget_ledger")
}

/// Default rate limits of a platform's end users (hash): `requests_per_minute`,
/// `tokens_per_minute`, `requests_per_day`; an absent field is unlimited.
pub fn rate_limits(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:rate_limits")
}

/// Rate limits of one end user over the platform defaults (hash), with the fields
/// of [`rate_limits`]; a field set to `none` is unlimited for this end user.
pub fn end_user_rate_limits(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:rate_limits")
}

/// Token buckets of one end user (hash): `rpm`, `rpd`, `tpm` levels in
/// token-milliseconds and `rpm_at`, `rpd_at`, `tpm_at` (Unix ms of the last update).
pub fn rate_buckets(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:rate_buckets")
}

/// Outbox of a platform's events (stream): `id` (evt_), `type` (budget.topped_up,
/// budget.debited, budget.low_balance, budget.suspended, budget.unsuspended,
/// wallet.low_balance, wallet.topped_up), `platform_id`, `end_user_id` (empty for
/// wallet events), `amount_nano` (signed), `balance_after_nano`, `created_at` (ms).
pub fn outbox(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:outbox")
}

/// Idempotency record of one `Idempotency-Key` (hash, kept 24 h), named by the
/// key's SHA-256 in hex: `state` (running, done), `fingerprint`, `token`, and once
/// done `status`, `result` (JSON) and `request_id`.
pub fn idempotency(platform_id: &str, key_digest: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:idempotency:{key_digest}")
}

/// Request log of a platform (stream), one entry per call; the stream id is the
/// time the entry was written and the list cursor. Fields, absent values empty:
/// `request_id`, `end_user_id`, `key_id`, `endpoint`, `model`, `provider`,
/// `stream` (0 or 1), `status_code`, `error_code`, `input_tokens`,
/// `cached_input_tokens`, `output_tokens`, `reasoning_tokens`, `usage_estimated`
/// (0 or 1), `cost_nano`, `charged_nano`, `latency_ms`, `time_to_first_token_ms`,
/// `upstream_latency_ms`, `app`, `tool`. Trimmed to the retention window on write,
/// and expires when nothing was written for that long.
pub fn log_stream(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:logs")
}

/// Log index of one end user (stream): for each of the end user's log entries,
/// an entry with the same id and one empty field, `log`. Trimmed and expired as
/// [`log_stream`]; kept when the end user is deleted, until it expires.
pub fn end_user_log_index(platform_id: &str, end_user_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:eu:{end_user_id}:logs")
}

/// The stream id of a request's log entry (string), kept for the retention window.
pub fn log_request(platform_id: &str, request_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:log:{request_id}")
}

/// Test clock of a platform (string, Unix ms), read by the money scripts instead
/// of the server time only when the `test_clock` setting is on.
pub fn test_clock(platform_id: &str) -> String {
    format!("{NAMESPACE}:{{{platform_id}}}:test_clock")
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
        ("money_settings", [pid]) => money_settings(pid),
        ("wallet", [pid]) => wallet(pid),
        ("wallet_holds", [pid]) => wallet_holds(pid),
        ("wallet_ledger", [pid]) => wallet_ledger(pid),
        ("wallet_references", [pid]) => wallet_references(pid),
        ("budget", [pid, eu]) => budget(pid, eu),
        ("budget_holds", [pid, eu]) => budget_holds(pid, eu),
        ("budget_ledger", [pid, eu]) => budget_ledger(pid, eu),
        ("rate_limits", [pid]) => rate_limits(pid),
        ("end_user_rate_limits", [pid, eu]) => end_user_rate_limits(pid, eu),
        ("rate_buckets", [pid, eu]) => rate_buckets(pid, eu),
        ("outbox", [pid]) => outbox(pid),
        ("idempotency", [pid, digest]) => idempotency(pid, digest),
        ("log_stream", [pid]) => log_stream(pid),
        ("end_user_log_index", [pid, eu]) => end_user_log_index(pid, eu),
        ("log_request", [pid, rid]) => log_request(pid, rid),
        ("test_clock", [pid]) => test_clock(pid),
        ("response", [pid, id]) => response(pid, id),
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
