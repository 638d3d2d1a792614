//! One request-log entry and the fields it is stored as.

use std::time::{Duration, Instant};

use crate::error::GatewayError;
use crate::server::meter::CallRecord;
use crate::translate::{Provider, Usage};

/// One call as the platform's request log shows it.
///
/// Tokens are counted as OpenAI counts them: `input_tokens` includes the
/// cached ones and `output_tokens` the reasoning ones. Nothing secret and no
/// prompt or reply text is ever part of an entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub request_id: String,
    pub platform_id: String,
    /// `None` when the key that made the call is not an end-user key.
    pub end_user_id: Option<String>,
    pub key_id: String,
    /// The request path, such as `/v1/chat/completions`.
    pub endpoint: &'static str,
    /// The catalog id of the model, or the name the client sent before it resolved.
    pub model: Option<String>,
    pub provider: Option<Provider>,
    pub stream: bool,
    /// The HTTP status the client received; 499 when it disconnected first.
    pub status_code: u16,
    /// The error code sent to the client, in the response or as a stream error event.
    pub error_code: Option<&'static str>,
    pub usage: Usage,
    /// Whether `usage` is an estimate because the provider never reported it.
    pub usage_estimated: bool,
    /// What the provider charges for the usage, in nano-USD.
    pub cost_nanos: u64,
    /// The end user's price of the usage, markup included, in nano-USD.
    pub charged_nanos: u64,
    /// Time from receiving the request to its last byte.
    pub latency: Duration,
    pub time_to_first_token: Option<Duration>,
    /// Time from sending the request upstream to the provider's response headers.
    pub upstream_latency: Option<Duration>,
    /// The MCP app and tool of a tool call; `None` for inference.
    pub app: Option<String>,
    pub tool: Option<String>,
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

fn optional(value: Option<String>) -> String {
    value.unwrap_or_default()
}

impl Entry {
    /// The entry of a settled call. `charged_nanos` is the end user's price
    /// with the platform's markup, which the budget (if any) was debited, up to
    /// the call's reservation.
    pub fn settled(record: &CallRecord) -> Self {
        let call = &record.call;
        let outcome = &record.outcome;
        Self {
            request_id: call.request_id.clone(),
            platform_id: call.platform_id.clone(),
            end_user_id: Some(call.end_user_id.clone()),
            key_id: call.key_id.clone(),
            endpoint: call.endpoint,
            model: Some(call.model.id.clone()),
            provider: Some(call.provider()),
            stream: call.stream,
            status_code: outcome.status,
            error_code: outcome.error_code,
            usage: outcome.usage,
            usage_estimated: outcome.usage_estimated,
            cost_nanos: record.cost_nanos,
            charged_nanos: record.charge_nanos,
            latency: record.latency,
            time_to_first_token: outcome.time_to_first_token,
            upstream_latency: outcome.upstream_latency,
            app: None,
            tool: None,
        }
    }

    /// The stream fields of this entry, in a fixed order so that Redis stores
    /// the field names once per stream node. Absent values are empty strings;
    /// the entry's time is its stream id.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let usage = &self.usage;
        vec![
            ("request_id", self.request_id.clone()),
            ("end_user_id", optional(self.end_user_id.clone())),
            ("key_id", self.key_id.clone()),
            ("endpoint", self.endpoint.to_owned()),
            ("model", optional(self.model.clone())),
            (
                "provider",
                optional(self.provider.map(|p| p.as_str().to_owned())),
            ),
            ("stream", u8::from(self.stream).to_string()),
            ("status_code", self.status_code.to_string()),
            ("error_code", optional(self.error_code.map(str::to_owned))),
            ("input_tokens", usage.prompt_tokens.to_string()),
            ("cached_input_tokens", usage.cached_tokens.to_string()),
            ("output_tokens", usage.completion_tokens.to_string()),
            ("reasoning_tokens", usage.reasoning_tokens.to_string()),
            (
                "usage_estimated",
                u8::from(self.usage_estimated).to_string(),
            ),
            ("cost_nano", self.cost_nanos.to_string()),
            ("charged_nano", self.charged_nanos.to_string()),
            ("latency_ms", millis(self.latency)),
            (
                "time_to_first_token_ms",
                optional(self.time_to_first_token.map(millis)),
            ),
            (
                "upstream_latency_ms",
                optional(self.upstream_latency.map(millis)),
            ),
            ("app", optional(self.app.clone())),
            ("tool", optional(self.tool.clone())),
        ]
    }
}

/// What a request handler has learned about a call so far, so that a call
/// rejected before settlement is logged with everything known about it.
///
/// Handlers fill it phase by phase and call [`Attempt::rejection`] on the
/// error path. Once a settlement guard owns the call, `settling` is set and
/// the settlement writes the entry instead.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub request_id: String,
    pub endpoint: &'static str,
    pub started: Instant,
    pub platform_id: Option<String>,
    pub end_user_id: Option<String>,
    pub key_id: Option<String>,
    pub model: Option<String>,
    pub provider: Option<Provider>,
    pub stream: bool,
    pub settling: bool,
}

impl Attempt {
    pub fn new(request_id: &str, endpoint: &'static str, started: Instant) -> Self {
        Self {
            request_id: request_id.to_owned(),
            endpoint,
            started,
            platform_id: None,
            end_user_id: None,
            key_id: None,
            model: None,
            provider: None,
            stream: false,
            settling: false,
        }
    }

    /// The entry of a call rejected with `err`, or `None` when there is
    /// nothing to log: the key matched no platform (a 401 for a missing,
    /// unknown or revoked key), or the settlement logs the call.
    pub fn rejection(&self, err: &GatewayError) -> Option<Entry> {
        if self.settling {
            return None;
        }
        let platform_id = self.platform_id.clone()?;
        Some(Entry {
            request_id: self.request_id.clone(),
            platform_id,
            end_user_id: self.end_user_id.clone(),
            key_id: self.key_id.clone().unwrap_or_default(),
            endpoint: self.endpoint,
            model: self.model.clone(),
            provider: self.provider,
            stream: self.stream,
            status_code: err.status(),
            error_code: Some(err.code),
            latency: self.started.elapsed(),
            ..Entry::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_one_order_and_empty_absent_values() {
        let entry = Entry {
            request_id: "req_1".into(),
            platform_id: "plat_1".into(),
            key_id: "key_1".into(),
            endpoint: "/v1/chat/completions",
            status_code: 200,
            usage: Usage {
                prompt_tokens: 12,
                cached_tokens: 4,
                completion_tokens: 7,
                reasoning_tokens: 2,
                ..Usage::default()
            },
            cost_nanos: 1_500,
            charged_nanos: 1_650,
            latency: Duration::from_millis(42),
            time_to_first_token: Some(Duration::from_millis(9)),
            ..Entry::default()
        };
        let fields = entry.fields();
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(names.first(), Some(&"request_id"));
        assert_eq!(names.len(), 21);
        let value = |name: &str| {
            fields
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(value("end_user_id"), Some(""));
        assert_eq!(value("input_tokens"), Some("12"));
        assert_eq!(value("cached_input_tokens"), Some("4"));
        assert_eq!(value("output_tokens"), Some("7"));
        assert_eq!(value("reasoning_tokens"), Some("2"));
        assert_eq!(value("cost_nano"), Some("1500"));
        assert_eq!(value("charged_nano"), Some("1650"));
        assert_eq!(value("latency_ms"), Some("42"));
        assert_eq!(value("time_to_first_token_ms"), Some("9"));
        assert_eq!(value("upstream_latency_ms"), Some(""));
        assert_eq!(value("stream"), Some("0"));
        assert_eq!(value("error_code"), Some(""));
    }

    #[test]
    fn rejection_needs_a_platform_and_no_settlement() {
        let err = GatewayError::new("rate_limited", "slow down");
        let mut attempt = Attempt::new("req_1", "/v1/chat/completions", Instant::now());
        assert!(attempt.rejection(&err).is_none());
        attempt.platform_id = Some("plat_1".into());
        attempt.key_id = Some("key_1".into());
        attempt.model = Some("gpt-4o-mini".into());
        let entry = attempt.rejection(&err).unwrap();
        assert_eq!(entry.status_code, 429);
        assert_eq!(entry.error_code, Some("rate_limited"));
        assert_eq!(entry.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(entry.cost_nanos, 0);
        attempt.settling = true;
        assert!(attempt.rejection(&err).is_none());
    }
}
