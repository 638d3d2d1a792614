//! Admission before the upstream call and settlement after the last byte.
//!
//! These are the money seams of the chat path. [`admit`] runs after routing
//! and before the upstream call; it will check rate limits, the end-user
//! budget and the platform wallet, and reserve the request's maximum cost.
//! [`settle`] runs exactly once per admitted call, after its last byte, with
//! the final usage (or an estimate when the stream was cut) and the outcome;
//! it will convert usage to cost, debit, release the reservation and append
//! the log entry.
//!
//! Today admission allows every call and settlement records metrics and one
//! `tracing` line. The [`Settlement`] guard makes "exactly once" hold on every
//! path: the handler or the stream relay calls [`Settlement::finish`], and a
//! guard dropped without it (the client went away mid-call) settles as a
//! client disconnect with estimated usage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::metrics::InFlight;
use super::AppState;
use crate::catalog::ModelInfo;
use crate::error::GatewayError;
use crate::translate::{Provider, Usage};

/// Roughly four characters of English text make one token; used only for estimates.
const CHARS_PER_TOKEN: u64 = 4;

/// Status recorded for a call whose client disconnected before the end, as nginx logs it.
pub const CLIENT_CLOSED_STATUS: u16 = 499;

/// Who made a call and what it targets.
#[derive(Clone, Debug)]
pub struct Call {
    pub request_id: String,
    pub platform_id: String,
    pub end_user_id: String,
    pub key_id: String,
    pub model: Arc<ModelInfo>,
    pub stream: bool,
    /// Prompt tokens estimated from the request body's size.
    pub prompt_tokens_estimate: u64,
    /// The output limit the call can reach: the client's, else the model's default.
    pub max_output_tokens: u64,
    pub started: Instant,
}

impl Call {
    pub fn provider(&self) -> Provider {
        self.model.provider
    }
}

/// What admission granted; settlement releases it.
#[derive(Debug)]
pub struct Admission {
    /// The most the call can cost, in nano-USD: the estimated prompt plus the output limit.
    pub max_cost_nanos: u64,
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
    /// Time from receiving the request to relaying the first chunk of a stream.
    pub time_to_first_token: Option<Duration>,
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

/// Admit a routed call before it goes upstream. Every call is admitted for now.
pub async fn admit(_state: &AppState, call: &Call) -> Result<Admission, GatewayError> {
    let worst_case = Usage {
        prompt_tokens: call.prompt_tokens_estimate,
        completion_tokens: call.max_output_tokens,
        ..Usage::default()
    };
    Ok(Admission {
        max_cost_nanos: call.model.cost_nanos(&worst_case),
    })
}

/// Settle a finished call: record its metrics and its log line.
pub async fn settle(state: Arc<AppState>, call: Call, admission: Admission, outcome: Outcome) {
    let latency = call.started.elapsed();
    let provider = call.provider().as_str();
    let metrics = &state.metrics;
    metrics
        .completion_duration
        .with_label_values(&[provider])
        .observe(latency.as_secs_f64());
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
    let cost_nanos = call.model.cost_nanos(&usage);
    tracing::info!(
        request_id = %call.request_id,
        platform_id = %call.platform_id,
        end_user_id = %call.end_user_id,
        key_id = %call.key_id,
        provider,
        model = %call.model.id,
        stream = call.stream,
        status = outcome.status,
        error_code = outcome.error_code.unwrap_or(""),
        prompt_tokens = usage.prompt_tokens,
        cached_tokens = usage.cached_tokens,
        completion_tokens = usage.completion_tokens,
        reasoning_tokens = usage.reasoning_tokens,
        usage_estimated = outcome.usage_estimated,
        cost_nanos,
        reserved_nanos = admission.max_cost_nanos,
        latency_ms = latency.as_millis() as u64,
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
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(request_id = %call.request_id, "no runtime to settle the call on");
            return;
        };
        runtime.spawn(async move {
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
