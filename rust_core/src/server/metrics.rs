//! Prometheus metrics of one data-plane instance, served at `GET /metrics` in
//! the text exposition format.
//!
//! `GET /metrics` needs no key, as Prometheus scrapers expect; it shows counts
//! and timings only, never ids or keys. Operators who expose the public port to
//! the internet should block the path at their load balancer.

use std::time::Duration;

use http::{HeaderValue, Response, StatusCode};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use super::http::{self as h, Body};

/// Bucket bounds in seconds, from a fast cached answer to a long reasoning stream.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub errors: IntCounterVec,
    pub request_duration: HistogramVec,
    pub completion_duration: HistogramVec,
    pub upstream_duration: HistogramVec,
    pub time_to_first_token: HistogramVec,
    pub in_flight: IntGauge,
    pub upstream_cancelled: IntCounterVec,
    pub tokens: IntCounterVec,
    pub log_entries_lost: IntCounter,
}

fn histogram(name: &str, help: &str, label: &str) -> prometheus::Result<HistogramVec> {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    HistogramVec::new(opts, &[label])
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let metrics = Self {
            requests: IntCounterVec::new(
                Opts::new(
                    "assistiv_requests_total",
                    "HTTP requests answered, by route and status code.",
                ),
                &["route", "status"],
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "assistiv_errors_total",
                    "Error answers and in-stream error events, by error code.",
                ),
                &["code"],
            )?,
            request_duration: histogram(
                "assistiv_request_duration_seconds",
                "Time from receiving a request to sending its response headers, by route.",
                "route",
            )?,
            completion_duration: histogram(
                "assistiv_completion_duration_seconds",
                "Time from receiving a chat completion to its last byte, streams included, by provider.",
                "provider",
            )?,
            upstream_duration: histogram(
                "assistiv_upstream_duration_seconds",
                "Time from sending a request upstream to the provider's response headers, by provider.",
                "provider",
            )?,
            time_to_first_token: histogram(
                "assistiv_time_to_first_token_seconds",
                "Time from receiving a streamed chat completion to relaying its first token, by provider.",
                "provider",
            )?,
            in_flight: IntGauge::new(
                "assistiv_in_flight_requests",
                "Requests being served, streams counted until their last byte.",
            )?,
            upstream_cancelled: IntCounterVec::new(
                Opts::new(
                    "assistiv_upstream_cancelled_total",
                    "Upstream requests cancelled because the client disconnected, by provider.",
                ),
                &["provider"],
            )?,
            tokens: IntCounterVec::new(
                Opts::new(
                    "assistiv_tokens_total",
                    "Tokens metered, by provider and kind (prompt, cached, completion).",
                ),
                &["provider", "kind"],
            )?,
            log_entries_lost: IntCounter::new(
                "assistiv_log_entries_lost_total",
                "Request-log entries given up after every retry failed.",
            )?,
            registry,
        };
        metrics
            .registry
            .register(Box::new(metrics.requests.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.errors.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.request_duration.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.completion_duration.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.upstream_duration.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.time_to_first_token.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.in_flight.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.upstream_cancelled.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.tokens.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.log_entries_lost.clone()))?;
        Ok(metrics)
    }

    pub fn record_response(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.request_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn record_error(&self, code: &str) {
        self.errors.with_label_values(&[code]).inc();
    }

    /// A guard that counts one request in flight until it is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight {
            gauge: self.in_flight.clone(),
        }
    }

    /// `GET /metrics`.
    pub fn render(&self) -> Response<Body> {
        let encoder = TextEncoder::new();
        let mut buffer = Vec::new();
        if let Err(err) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %err, "could not encode metrics");
        }
        let mut response = h::json(StatusCode::OK, buffer);
        if let Ok(value) = HeaderValue::from_str(encoder.format_type()) {
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, value);
        }
        response
    }
}

/// One request in flight; dropping it decrements the gauge.
pub struct InFlight {
    gauge: IntGauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
