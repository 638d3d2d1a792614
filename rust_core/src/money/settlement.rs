//! Settlement: one script run per admitted call, after its last byte.
//!
//! It releases the call's holds, debits the end user's charge from the budget
//! and the provider cost from the wallet (each with a ledger entry, and with a
//! low-balance event when a threshold is crossed), and corrects the
//! tokens-per-minute bucket by the difference between the admission estimate
//! and the tokens used. Given a log entry, the same run also writes the call's
//! request-log entry, which saves a second script call per call.

use serde::Deserialize;

use super::keys::CallKeys;
use super::scripts;
use crate::logs::{Entry, LogWriter};

/// What settlement needs to know about one finished call.
#[derive(Clone, Debug)]
pub struct SettleRequest<'a> {
    pub platform_id: &'a str,
    pub end_user_id: &'a str,
    pub request_id: &'a str,
    /// The holds placed at admission, in nano-USD.
    pub budget_hold: u64,
    pub wallet_hold: u64,
    /// What the wallet pays, in nano-USD.
    pub cost_nanos: u64,
    /// What the end user's budget is charged, in nano-USD; capped at `budget_hold`.
    pub charge_nanos: u64,
    pub token_estimate: u64,
    pub tokens_used: u64,
    /// Reason written on the ledger entries, such as the model name.
    pub reason: &'a str,
    pub test_clock: bool,
    /// The call's request-log entry and its writer, to write it in the same run.
    pub log: Option<(&'a LogWriter, &'a Entry)>,
}

/// Balances after settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// What the budget was charged; 0 without a budget.
    pub charged_nanos: u64,
    pub budget_balance_nanos: Option<i64>,
    pub wallet_balance_nanos: i64,
    /// The stream id of the request-log entry. `None` when no entry was asked
    /// for or its write failed, and then the caller writes it on its own.
    pub log_id: Option<String>,
}

#[derive(Deserialize)]
struct Reply {
    charged_nano: String,
    budget_balance_nano: Option<String>,
    wallet_balance_nano: String,
    #[serde(default)]
    log_id: Option<String>,
}

fn parse_error(what: &str, detail: String) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Parse, "unreadable settlement reply", {
        format!("{what}: {detail}")
    }))
}

fn parse_reply(raw: &str) -> redis::RedisResult<Settled> {
    let reply: Reply =
        serde_json::from_str(raw).map_err(|err| parse_error("json", err.to_string()))?;
    let number = |text: &str| {
        text.parse::<i64>()
            .map_err(|err| parse_error(text, err.to_string()))
    };
    Ok(Settled {
        charged_nanos: number(&reply.charged_nano)?.max(0) as u64,
        budget_balance_nanos: reply
            .budget_balance_nano
            .as_deref()
            .map(number)
            .transpose()?,
        wallet_balance_nanos: number(&reply.wallet_balance_nano)?,
        log_id: reply.log_id,
    })
}

/// Run the settlement script for one call. Callers run it once per admitted
/// call and do not retry it blindly: a retried run after a lost reply would
/// debit twice.
pub async fn settle<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    request: &SettleRequest<'_>,
) -> redis::RedisResult<Settled> {
    let keys = CallKeys::new(request.platform_id, request.end_user_id);
    let mut invocation = scripts::settle().prepare_invoke();
    invocation
        .key(&keys.money_settings)
        .key(&keys.budget)
        .key(&keys.budget_holds)
        .key(&keys.budget_ledger)
        .key(&keys.wallet)
        .key(&keys.wallet_holds)
        .key(&keys.wallet_ledger)
        .key(&keys.rate_limits)
        .key(&keys.end_user_rate_limits)
        .key(&keys.rate_buckets)
        .key(&keys.outbox)
        .key(&keys.test_clock)
        .arg(if request.test_clock { "1" } else { "0" })
        .arg(crate::ids::new_id("seed").trim_start_matches("seed_"))
        .arg(request.platform_id)
        .arg(request.end_user_id)
        .arg(request.request_id)
        .arg(request.budget_hold)
        .arg(request.wallet_hold)
        .arg(request.cost_nanos)
        .arg(request.charge_nanos)
        .arg(request.token_estimate)
        .arg(request.tokens_used)
        .arg(request.reason);
    if let Some((writer, entry)) = request.log {
        writer.add_entry(&mut invocation, entry);
    }
    let raw: String = invocation.invoke_async(conn).await?;
    parse_reply(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_parses_with_and_without_budget() {
        let with = parse_reply(
            r#"{"charged_nano":"5","budget_balance_nano":"-3","wallet_balance_nano":"7"}"#,
        )
        .unwrap();
        assert_eq!(with.charged_nanos, 5);
        assert_eq!(with.budget_balance_nanos, Some(-3));
        let without = parse_reply(r#"{"charged_nano":"0","wallet_balance_nano":"7"}"#).unwrap();
        assert_eq!(without.budget_balance_nanos, None);
        assert_eq!(without.wallet_balance_nanos, 7);
        assert_eq!(without.log_id, None);
        let logged = parse_reply(
            r#"{"charged_nano":"0","wallet_balance_nano":"7","log_id":"1700000000000-0"}"#,
        )
        .unwrap();
        assert_eq!(logged.log_id.as_deref(), Some("1700000000000-0"));
    }
}
