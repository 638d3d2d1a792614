//! Admission: one script run per call, before the upstream request.
//!
//! The script checks, in order, the budget's suspension, whether the budget can
//! cover the call's maximum charge, whether the wallet can cover its maximum
//! provider cost, and the end user's three token buckets. Only when every check
//! passes does it reserve the maximum charge on the budget and the maximum cost
//! on the wallet (holds that expire after `hold_ttl_ms`) and take the tokens.

use serde::Deserialize;

use super::keys::CallKeys;
use super::scripts;

/// What admission needs to know about one call.
#[derive(Clone, Debug)]
pub struct AdmitRequest<'a> {
    pub platform_id: &'a str,
    pub end_user_id: &'a str,
    pub request_id: &'a str,
    /// The most the call can cost the platform, in nano-USD.
    pub max_cost_nanos: u64,
    /// Tokens taken from the tokens-per-minute bucket: a realistic prompt
    /// estimate plus the output limit; settlement corrects it.
    pub token_estimate: u64,
    /// How long the reservations live if settlement never comes.
    pub hold_ttl_ms: u64,
    /// Whether the scripts read the platform's test clock.
    pub test_clock: bool,
}

/// One limited token bucket after admission, for the `x-ratelimit-*` headers.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BucketReport {
    /// `rpm`, `rpd` or `tpm`.
    pub name: String,
    pub limit: u64,
    pub remaining: u64,
    /// Milliseconds until the bucket is full again.
    pub reset_ms: u64,
}

/// A call admitted with its reservations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The platform's markup in basis points when the call was admitted.
    pub markup_bp: u64,
    /// Nano-USD reserved on the end user's budget; 0 without a budget.
    pub budget_hold: u64,
    /// Nano-USD reserved on the platform's wallet.
    pub wallet_hold: u64,
    pub limits: Vec<BucketReport>,
}

/// A call rejected by a budget, the wallet or a rate limit; nothing was reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// `budget_suspended`, `budget_exhausted`, `wallet_insufficient` or `rate_limited`.
    pub code: String,
    pub message: String,
    /// Milliseconds until a rate-limited call could pass; 0 for other rejections.
    pub retry_after_ms: u64,
    pub limits: Vec<BucketReport>,
}

#[derive(Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default)]
    markup_bp: u64,
    #[serde(default, deserialize_with = "nanos")]
    budget_hold: u64,
    #[serde(default, deserialize_with = "nanos")]
    wallet_hold: u64,
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    retry_after_ms: u64,
    #[serde(default)]
    limits: Vec<BucketReport>,
}

/// Nano-USD amounts travel as decimal strings, because Lua's JSON encoder
/// rounds large numbers.
fn nanos<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// Parse the script's JSON reply; an unreadable reply is a Redis error.
fn parse_reply(raw: &str) -> redis::RedisResult<Result<Admitted, Rejection>> {
    let reply: Reply = serde_json::from_str(raw).map_err(|err| {
        redis::RedisError::from((
            redis::ErrorKind::Parse,
            "unreadable admission reply",
            err.to_string(),
        ))
    })?;
    if reply.ok {
        return Ok(Ok(Admitted {
            markup_bp: reply.markup_bp,
            budget_hold: reply.budget_hold,
            wallet_hold: reply.wallet_hold,
            limits: reply.limits,
        }));
    }
    Ok(Err(Rejection {
        code: reply.code,
        message: reply.message,
        retry_after_ms: reply.retry_after_ms,
        limits: reply.limits,
    }))
}

/// Run the admission script for one call.
///
/// The outer result fails only when Redis does; the inner one is the decision.
pub async fn admit<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    request: &AdmitRequest<'_>,
) -> redis::RedisResult<Result<Admitted, Rejection>> {
    let keys = CallKeys::new(request.platform_id, request.end_user_id);
    let raw: String = scripts::admit()
        .key(&keys.money_settings)
        .key(&keys.budget)
        .key(&keys.budget_holds)
        .key(&keys.budget_ledger)
        .key(&keys.wallet)
        .key(&keys.wallet_holds)
        .key(&keys.rate_limits)
        .key(&keys.end_user_rate_limits)
        .key(&keys.rate_buckets)
        .key(&keys.test_clock)
        .arg(if request.test_clock { "1" } else { "0" })
        .arg(crate::ids::new_id("seed").trim_start_matches("seed_"))
        .arg(request.request_id)
        .arg(request.max_cost_nanos)
        .arg(request.token_estimate)
        .arg(request.hold_ttl_ms)
        .invoke_async(conn)
        .await?;
    parse_reply(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admitted_reply_parses() {
        let raw = r#"{"ok":true,"markup_bp":1250,"budget_hold":"12","wallet_hold":"10",
            "limits":[{"name":"rpm","limit":3,"remaining":2,"reset_ms":20000}]}"#;
        let admitted = parse_reply(raw).unwrap().unwrap();
        assert_eq!(admitted.markup_bp, 1250);
        assert_eq!(admitted.budget_hold, 12);
        assert_eq!(admitted.wallet_hold, 10);
        assert_eq!(admitted.limits[0].remaining, 2);
    }

    #[test]
    fn rejection_reply_parses() {
        let raw = r#"{"ok":false,"code":"rate_limited","message":"m","retry_after_ms":1500}"#;
        let rejected = parse_reply(raw).unwrap().unwrap_err();
        assert_eq!(rejected.code, "rate_limited");
        assert_eq!(rejected.retry_after_ms, 1500);
        assert!(rejected.limits.is_empty());
    }
}
