//! Admission before the upstream call and settlement after the last byte.
//!
//! These are the money seams of the chat path. [`admit`] runs after routing
//! and before the upstream call: one script run checks the end user's budget,
//! the platform's wallet and the end user's rate limits, and reserves the
//! call's maximum cost (see `money::admission`). [`settle`] runs exactly once
//! per admitted call, after its last byte, with the final usage (or an
//! estimate when the stream was cut) and the outcome: it prices the usage,
//! records its metrics, then debits budget and wallet, releases the
//! reservations, corrects the tokens-per-minute bucket and writes the
//! request-log entry in one script run, and logs the call's line, all from
//! one [`CallRecord`].
//!
//! The [`Settlement`] guard makes "exactly once" hold on every path: the
//! handler or the stream relay calls [`Settlement::finish`], and a guard
//! dropped without it (the client went away mid-call) settles as a client
//! disconnect with estimated usage. A call that failed before any output
//! reached the client consumed nothing and is charged nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::metrics::InFlight;
use super::AppState;
use crate::catalog::ModelInfo;
use crate::error::GatewayError;
use crate::logs;
use crate::money::{self, headers, AdmitRequest, SettleRequest};
use crate::translate::{Provider, Usage};

/// Roughly four characters of English text make one token; used only for estimates.
const CHARS_PER_TOKEN: u64 = 4;

/// How long reservations outlive the upstream timeouts before they expire on
/// their own, so that a crashed instance cannot keep money reserved.
// NOTE: a stream that keeps sending for longer than the timeouts plus this
// margin outlives its reservation; its settlement still debits the exact cost.
const HOLD_MARGIN: Duration = Duration::from_secs(15 * 60);

/// Status recorded for a call whose client disconnected before the end, as nginx logs it.
pub const CLIENT_CLOSED_STATUS: u16 = 499;

/// Who made a call and what it targets.
#[derive(Clone, Debug)]
pub struct Call {
    pub request_id: String,
    /// The request path, such as `/v1/chat/completions`.
    pub endpoint: &'static str,
    pub platform_id: String,
    pub end_user_id: String,
    pub key_id: String,
    pub model: Arc<ModelInfo>,
    pub stream: bool,
    /// Prompt tokens estimated from the request body's size.
    pub prompt_tokens_estimate: u64,
    /// An upper bound of the prompt tokens, for the maximum cost.
    pub prompt_tokens_bound: u64,
    /// The output limit the call can reach: the client's, else the model's default.
    pub max_output_tokens: u64,
    /// The most output tokens the call can be billed for: the client's limit,
    /// else the model's maximum.
    pub max_output_bound: u64,
    pub started: Instant,
}

impl Call {
    pub fn provider(&self) -> Provider {
        self.model.provider
    }

    /// Tokens taken from the tokens-per-minute bucket at admission.
    pub fn token_estimate(&self) -> u64 {
        self.prompt_tokens_estimate
            .saturating_add(self.max_output_tokens)
    }
}

/// What admission granted; settlement releases it.
#[derive(Debug)]
pub struct Admission {
    /// The most the call can cost the platform, in nano-USD.
    pub max_cost_nanos: u64,
    /// The platform's markup when the call was admitted, in basis points.
    pub markup_bp: u64,
    /// Nano-USD reserved on the end user's budget (0 without a budget) and the wallet.
    pub budget_hold: u64,
    pub wallet_hold: u64,
    /// `x-ratelimit-*` headers for the response.
    pub rate_limit_headers: Vec<(&'static str, String)>,
}

/// How a call ended.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The HTTP status the client received; 499 when it disconnected first.
    pub status: u16,
    /// The error code sent to the client, in the response or as a stream error event.
    pub error_code: Option<&'static str>,
    pub usage: Usage,
    /// Whether `usage` is an estimate because the provider never reported it.
    pub usage_estimated: bool,
    /// Time from sending the request upstream to the provider's response headers.
    pub upstream_latency: Option<Duration>,
    /// Time from receiving the request to relaying the first output token of a stream.
    pub time_to_first_token: Option<Duration>,
}

/// Everything known about a finished call: who, what, how it ended and what it cost.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub call: Call,
    pub outcome: Outcome,
    /// Provider cost of the usage, paid by the wallet, in nano-USD.
    pub cost_nanos: u64,
    /// The end user's price of the usage with the platform's markup, in nano-USD.
    pub charge_nanos: u64,
    /// What the budget was charged (the charge capped at its reservation), once settled.
    pub charged_nanos: Option<u64>,
    pub latency: Duration,
}

/// Estimate tokens from characters of text.
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(CHARS_PER_TOKEN)
}

/// Usage to settle when the provider reported none: the prompt estimate plus the streamed output.
pub fn estimated_usage(call: &Call, streamed_chars: usize) -> Usage {
    Usage {
        prompt_tokens: call.prompt_tokens_estimate,
        completion_tokens: estimate_tokens(streamed_chars),
        ..Usage::default()
    }
}

fn hold_ttl(state: &AppState) -> u64 {
    let config = &state.config;
    let timeouts = config
        .upstream_connect_timeout_ms
        .saturating_add(config.upstream_first_byte_timeout_ms)
        .saturating_add(config.upstream_idle_timeout_ms);
    timeouts.saturating_add(HOLD_MARGIN.as_millis() as u64)
}

fn store_unavailable(err: redis::RedisError) -> GatewayError {
    GatewayError::new(
        "not_ready",
        "the state store is unavailable, so the call could not be admitted; retry shortly",
    )
    .with_cause(err)
}

fn rejection_error(rejection: money::Rejection) -> GatewayError {
    let code = match rejection.code.as_str() {
        "budget_suspended" => "budget_suspended",
        "budget_exhausted" => "budget_exhausted",
        "wallet_insufficient" => "wallet_insufficient",
        "rate_limited" => "rate_limited",
        _ => "internal_error",
    };
    let mut err = GatewayError::new(code, rejection.message);
    if code == "rate_limited" {
        err = err
            .with_retry_after(headers::retry_after_seconds(rejection.retry_after_ms))
            .with_header(
                "retry-after-ms",
                rejection.retry_after_ms.max(1).to_string(),
            );
    }
    for (name, value) in headers::rate_limit_headers(&rejection.limits) {
        err = err.with_header(name, value);
    }
    err
}

/// Admit a routed call before it goes upstream, reserving its maximum cost.
///
/// Rejections are 402 `budget_suspended`, `budget_exhausted` or
/// `wallet_insufficient`, or 429 `rate_limited`; without Redis, 503 `not_ready`.
pub async fn admit(state: &AppState, call: &Call) -> Result<Admission, GatewayError> {
    let max_cost_nanos = money::max_cost_nanos(
        &call.model.prices(),
        call.prompt_tokens_bound,
        call.max_output_bound,
    );
    let request = AdmitRequest {
        platform_id: &call.platform_id,
        end_user_id: &call.end_user_id,
        request_id: &call.request_id,
        max_cost_nanos,
        token_estimate: call.token_estimate(),
        hold_ttl_ms: hold_ttl(state),
        test_clock: state.config.test_clock,
    };
    let mut conn = state.redis.clone();
    let admitted = money::admit(&mut conn, &request)
        .await
        .map_err(store_unavailable)?
        .map_err(rejection_error)?;
    Ok(Admission {
        max_cost_nanos,
        markup_bp: admitted.markup_bp,
        budget_hold: admitted.budget_hold,
        wallet_hold: admitted.wallet_hold,
        rate_limit_headers: headers::rate_limit_headers(&admitted.limits),
    })
}

/// Settle a finished call: record its metrics, debit its cost and write its
/// request-log entry, then log its line.
pub async fn settle(state: Arc<AppState>, call: Call, admission: Admission, outcome: Outcome) {
    let prices = call.model.prices();
    let mut record = CallRecord {
        cost_nanos: money::cost_nanos(&prices, &outcome.usage),
        charge_nanos: money::charge_nanos(&prices, &outcome.usage, admission.markup_bp),
        charged_nanos: None,
        latency: call.started.elapsed(),
        call,
        outcome,
    };
    record_metrics(&state, &record);
    // The entry does not depend on the settlement's result, so the settlement
    // script writes it in the same run.
    let entry = logs::Entry::settled(&record);
    let usage = &record.outcome.usage;
    let request = SettleRequest {
        platform_id: &record.call.platform_id,
        end_user_id: &record.call.end_user_id,
        request_id: &record.call.request_id,
        budget_hold: admission.budget_hold,
        wallet_hold: admission.wallet_hold,
        cost_nanos: record.cost_nanos,
        charge_nanos: record.charge_nanos,
        token_estimate: record.call.token_estimate(),
        tokens_used: usage.prompt_tokens.saturating_add(usage.completion_tokens),
        reason: &record.call.model.id,
        test_clock: state.config.test_clock,
        log: Some((&state.logs, &entry)),
    };
    let mut conn = state.redis.clone();
    let mut logged = false;
    match money::settle(&mut conn, &request).await {
        Ok(settled) => {
            record.charged_nanos = Some(settled.charged_nanos);
            logged = settled.log_id.is_some();
        }
        Err(err) => tracing::error!(
            request_id = %record.call.request_id,
            platform_id = %record.call.platform_id,
            end_user_id = %record.call.end_user_id,
            cost_nanos = record.cost_nanos,
            charge_nanos = record.charge_nanos,
            error = %err,
            "settlement failed; the call's reservations expire on their own"
        ),
    }
    log_call(&record, &admission);
    if !logged {
        // Settlement failed or could not write the entry: write it on its own,
        // with retries. A write that did happen behind a lost reply is found
        // by its request id and not repeated.
        logs::write(&state, &entry).await;
    }
}

fn record_metrics(state: &AppState, record: &CallRecord) {
    let provider = record.call.provider().as_str();
    let metrics = &state.metrics;
    let outcome = &record.outcome;
    metrics
        .completion_duration
        .with_label_values(&[provider])
        .observe(record.latency.as_secs_f64());
    if let Some(upstream) = outcome.upstream_latency {
        metrics
            .upstream_duration
            .with_label_values(&[provider])
            .observe(upstream.as_secs_f64());
    }
    if let Some(first) = outcome.time_to_first_token {
        metrics
            .time_to_first_token
            .with_label_values(&[provider])
            .observe(first.as_secs_f64());
    }
    let usage = outcome.usage;
    for (kind, count) in [
        ("prompt", usage.prompt_tokens),
        ("cached", usage.cached_tokens),
        ("completion", usage.completion_tokens),
    ] {
        metrics
            .tokens
            .with_label_values(&[provider, kind])
            .inc_by(count);
    }
}

fn log_call(record: &CallRecord, admission: &Admission) {
    let call = &record.call;
    let outcome = &record.outcome;
    let usage = outcome.usage;
    tracing::info!(
        request_id = %call.request_id,
        platform_id = %call.platform_id,
        end_user_id = %call.end_user_id,
        key_id = %call.key_id,
        provider = call.provider().as_str(),
        model = %call.model.id,
        stream = call.stream,
        status = outcome.status,
        error_code = outcome.error_code.unwrap_or(""),
        prompt_tokens = usage.prompt_tokens,
        cached_tokens = usage.cached_tokens,
        completion_tokens = usage.completion_tokens,
        reasoning_tokens = usage.reasoning_tokens,
        usage_estimated = outcome.usage_estimated,
        cost_nanos = record.cost_nanos,
        charge_nanos = record.charge_nanos,
        charged_nanos = record.charged_nanos,
        reserved_nanos = admission.max_cost_nanos,
        latency_ms = record.latency.as_millis() as u64,
        upstream_latency_ms = outcome.upstream_latency.map(|d| d.as_millis() as u64),
        time_to_first_token_ms = outcome.time_to_first_token.map(|d| d.as_millis() as u64),
        "chat completion settled"
    );
}

/// Settles its call exactly once: through [`Settlement::finish`], or when dropped.
pub struct Settlement {
    pending: Option<(Arc<AppState>, Call, Admission)>,
    in_flight: Option<InFlight>,
    /// Set once the upstream answered, for the outcome of a dropped guard.
    pub upstream_latency: Option<Duration>,
    pub time_to_first_token: Option<Duration>,
    /// Output characters relayed so far, for the estimate of a dropped guard.
    pub streamed_chars: usize,
    /// Whether the request was sent upstream, so that a disconnect cancels it.
    pub upstream_started: bool,
}

impl Settlement {
    pub fn new(
        state: Arc<AppState>,
        call: Call,
        admission: Admission,
        in_flight: InFlight,
    ) -> Self {
        Self {
            pending: Some((state, call, admission)),
            in_flight: Some(in_flight),
            upstream_latency: None,
            time_to_first_token: None,
            streamed_chars: 0,
            upstream_started: false,
        }
    }

    pub fn call(&self) -> Option<&Call> {
        self.pending.as_ref().map(|(_, call, _)| call)
    }

    /// Settle with `outcome`, off the caller's path.
    pub fn finish(mut self, outcome: Outcome) {
        self.settle_once(outcome);
    }

    /// Settle a call that failed with `err` before any byte reached the client.
    pub fn fail(mut self, err: &GatewayError) {
        // Providers do not bill a request they rejected or failed. A timed-out call may have
        // consumed tokens upstream, but nothing reports how many, so it settles as zero too.
        let outcome = Outcome {
            status: err.status(),
            error_code: Some(err.code),
            usage: Usage::default(),
            usage_estimated: false,
            upstream_latency: self.upstream_latency,
            time_to_first_token: None,
        };
        self.settle_once(outcome);
    }

    /// Settle a call whose client went away: with the provider's usage when it reported
    /// one, else an estimate.
    pub fn client_disconnected(mut self, usage: Option<Usage>) {
        self.settle_disconnected(usage);
    }

    fn settle_disconnected(&mut self, usage: Option<Usage>) {
        let Some((state, call, _)) = &self.pending else {
            return;
        };
        if self.upstream_started {
            let provider = call.provider().as_str();
            state
                .metrics
                .upstream_cancelled
                .with_label_values(&[provider])
                .inc();
            tracing::info!(request_id = %call.request_id, provider, "client disconnected; upstream request cancelled");
        }
        let outcome = Outcome {
            status: CLIENT_CLOSED_STATUS,
            error_code: None,
            usage_estimated: usage.is_none(),
            usage: usage.unwrap_or_else(|| estimated_usage(call, self.streamed_chars)),
            upstream_latency: self.upstream_latency,
            time_to_first_token: self.time_to_first_token,
        };
        self.settle_once(outcome);
    }

    fn settle_once(&mut self, outcome: Outcome) {
        let Some((state, call, admission)) = self.pending.take() else {
            return;
        };
        let in_flight = self.in_flight.take();
        if tokio::runtime::Handle::try_current().is_err() {
            tracing::error!(request_id = %call.request_id, "no runtime to settle the call on");
            return;
        }
        let background = state.background.clone();
        background.spawn(async move {
            settle(state, call, admission, outcome).await;
            drop(in_flight);
        });
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        self.settle_disconnected(None);
    }
}
