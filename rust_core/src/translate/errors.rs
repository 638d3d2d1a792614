//! Provider errors mapped into the gateway's error envelope.
//!
//! [`RULES`] is the one table: it maps a provider's error kind (Anthropic's
//! `error.type`, Gemini's `error.status`, OpenAI's `error.code` or
//! `error.type`) or, failing that, the HTTP status to a gateway code. A
//! provider 4xx reporting that the request itself was wrong is relayed with its
//! status and the provider's own message; everything else becomes a gateway
//! code whose message names the provider.

use serde_json::Value;

use crate::error::GatewayError;
use crate::translate::Provider;

#[derive(Clone, Copy, Debug)]
enum Match {
    /// A provider error kind, compared exactly.
    Kind(&'static str),
    /// An inclusive range of HTTP statuses.
    Status(u16, u16),
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// A gateway code from the error table.
    Code(&'static str),
    /// `upstream_invalid_request` with the provider's message and its 4xx status, or this status
    /// when the provider gave none (an error inside a stream).
    Relay(u16),
}

use Match::{Kind, Status};
use Outcome::{Code, Relay};

/// Kind rules are tried before status rules, so an error's own kind wins over its status.
const RULES: &[(Match, Outcome)] = &[
    // Overloaded or unavailable.
    (Kind("overloaded_error"), Code("upstream_overloaded")),
    (Kind("UNAVAILABLE"), Code("upstream_overloaded")),
    // Rate limits and quotas of the platform's provider key.
    (Kind("rate_limit_error"), Code("provider_rate_limited")),
    (Kind("RESOURCE_EXHAUSTED"), Code("provider_rate_limited")),
    (Kind("rate_limit_exceeded"), Code("provider_rate_limited")),
    (Kind("insufficient_quota"), Code("provider_rate_limited")),
    // The platform's provider key is wrong or lacks access.
    (Kind("authentication_error"), Code("provider_auth_failed")),
    (Kind("permission_error"), Code("provider_auth_failed")),
    (Kind("UNAUTHENTICATED"), Code("provider_auth_failed")),
    (Kind("PERMISSION_DENIED"), Code("provider_auth_failed")),
    (Kind("invalid_api_key"), Code("provider_auth_failed")),
    (Kind("API_KEY_INVALID"), Code("provider_auth_failed")),
    // The request itself: relayed with the provider's message.
    (Kind("invalid_request_error"), Relay(400)),
    (Kind("INVALID_ARGUMENT"), Relay(400)),
    (Kind("FAILED_PRECONDITION"), Relay(400)),
    (Kind("OUT_OF_RANGE"), Relay(400)),
    (Kind("not_found_error"), Relay(404)),
    (Kind("NOT_FOUND"), Relay(404)),
    (Kind("request_too_large"), Relay(413)),
    // Provider faults.
    (Kind("api_error"), Code("upstream_error")),
    (Kind("server_error"), Code("upstream_error")),
    (Kind("INTERNAL"), Code("upstream_error")),
    (Kind("UNKNOWN"), Code("upstream_error")),
    (Kind("timeout_error"), Code("upstream_timeout")),
    (Kind("DEADLINE_EXCEEDED"), Code("upstream_timeout")),
    // By status when the kind is missing or unknown.
    (Status(401, 401), Code("provider_auth_failed")),
    (Status(403, 403), Code("provider_auth_failed")),
    (Status(429, 429), Code("provider_rate_limited")),
    (Status(400, 499), Relay(400)),
    (Status(503, 503), Code("upstream_overloaded")),
    (Status(529, 529), Code("upstream_overloaded")),
    (Status(504, 504), Code("upstream_timeout")),
    (Status(500, 599), Code("upstream_error")),
];

fn find(kind: Option<&str>, status: Option<u16>) -> Outcome {
    let by_kind = RULES
        .iter()
        .find(|(rule, _)| matches!(rule, Kind(k) if Some(*k) == kind));
    let by_status = || {
        RULES
            .iter()
            .find(|(rule, _)| matches!(rule, Status(low, high) if status.is_some_and(|s| (*low..=*high).contains(&s))))
    };
    by_kind
        .or_else(by_status)
        .map_or(Code("upstream_error"), |(_, outcome)| *outcome)
}

/// Return the provider's display name, as used in error messages.
pub fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "OpenAI",
        Provider::Anthropic => "Anthropic",
        Provider::Google => "Gemini",
        Provider::Xai => "xAI",
    }
}

/// Read the error kind and message from a provider's error JSON, whatever its dialect.
///
/// Anthropic: `{"type":"error","error":{"type","message"}}`. Gemini: `{"error":{"code","message",
/// "status"}}`, sometimes inside a one-element array. OpenAI and xAI: `{"error":{"message","type",
/// "code"}}`, where a string `code` is more specific than `type`. The `reason` of a Gemini
/// `ErrorInfo` detail, such as `API_KEY_INVALID` under a 400 `INVALID_ARGUMENT`, comes first.
fn read_error(body: &Value) -> (Option<String>, Option<String>) {
    let body = body
        .as_array()
        .and_then(|items| items.first())
        .unwrap_or(body);
    let Some(error) = body.get("error") else {
        return (None, None);
    };
    let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
    let reason = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|detail| {
            detail
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let known = |kind: &String| {
        RULES
            .iter()
            .any(|(rule, _)| matches!(rule, Kind(k) if k == kind))
    };
    let kind = [reason, text("status"), text("code"), text("type")]
        .into_iter()
        .flatten()
        .find(known)
        .or_else(|| text("type").or_else(|| text("status")));
    let message = text("message").or_else(|| error.as_str().map(str::to_owned));
    (kind, message)
}

fn build(
    provider: Provider,
    status: Option<u16>,
    kind: Option<String>,
    message: Option<String>,
) -> GatewayError {
    let name = provider_name(provider);
    match find(kind.as_deref(), status) {
        Relay(default_status) => {
            let status = status
                .filter(|s| (400..500).contains(s))
                .unwrap_or(default_status);
            let message = message
                .unwrap_or_else(|| format!("{name} rejected the request with HTTP {status}"));
            GatewayError::new("upstream_invalid_request", message).with_status(status)
        }
        Code(code) => {
            let what = match (&kind, status) {
                (Some(kind), _) => kind.clone(),
                (None, Some(status)) => format!("HTTP {status}"),
                (None, None) => "an error".to_owned(),
            };
            let message = match message {
                Some(text) => format!("{name} returned {what}: {text}"),
                None => format!("{name} returned {what}"),
            };
            GatewayError::new(code, message)
        }
    }
}

/// Map a provider's non-2xx response.
pub fn from_response(
    provider: Provider,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> GatewayError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (kind, message) = parsed.as_ref().map(read_error).unwrap_or_default();
    let mut error = build(provider, Some(status), kind, message);
    if matches!(error.code, "provider_rate_limited" | "upstream_overloaded") {
        let delay = retry_after(headers).or_else(|| parsed.as_ref().and_then(gemini_retry_delay));
        if let Some(seconds) = delay {
            error = error.with_retry_after(seconds);
        }
    }
    error
}

/// Map an error event inside a 2xx stream, given its parsed JSON.
pub fn from_stream_error(provider: Provider, event: &Value) -> GatewayError {
    let (kind, message) = read_error(event);
    let status = event
        .pointer("/error/code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok());
    build(provider, status, kind, message)
}

/// Seconds from `retry-after-ms` or `retry-after` (seconds form), rounded up.
fn retry_after(headers: &http::HeaderMap) -> Option<u64> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(millis) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(seconds_ceil(millis / 1000.0));
    }
    header("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .map(seconds_ceil)
}

/// Gemini's `google.rpc.RetryInfo` detail, whose `retryDelay` reads like `"37s"` or `"1.5s"`.
fn gemini_retry_delay(body: &Value) -> Option<u64> {
    let body = body
        .as_array()
        .and_then(|items| items.first())
        .unwrap_or(body);
    let details = body.pointer("/error/details")?.as_array()?;
    details.iter().find_map(|detail| {
        let kind = detail.get("@type")?.as_str()?;
        if !kind.ends_with("google.rpc.RetryInfo") {
            return None;
        }
        let delay = detail.get("retryDelay")?.as_str()?.strip_suffix('s')?;
        delay.parse::<f64>().ok().map(seconds_ceil)
    })
}

fn seconds_ceil(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds.min(86_400.0).ceil() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(provider: Provider, status: u16, body: Value) -> GatewayError {
        from_response(
            provider,
            status,
            &http::HeaderMap::new(),
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn anthropic_overloaded_is_503() {
        let err = map(
            Provider::Anthropic,
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
        assert_eq!(err.code, "upstream_overloaded");
        assert_eq!(err.status(), 503);
        assert_eq!(
            err.message,
            "Anthropic returned overloaded_error: Overloaded"
        );
    }

    #[test]
    fn invalid_request_relays_message() {
        let err = map(
            Provider::Google,
            400,
            json!({"error": {"code": 400, "message": "bad schema", "status": "INVALID_ARGUMENT"}}),
        );
        assert_eq!(err.code, "upstream_invalid_request");
        assert_eq!(err.status(), 400);
        assert_eq!(err.message, "bad schema");
    }

    #[test]
    fn relayed_status_kept() {
        let err = map(
            Provider::Anthropic,
            404,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "model: x"}}),
        );
        assert_eq!(err.status(), 404);
    }

    #[test]
    fn gemini_retry_info_read() {
        let body = json!([{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}}]);
        let err = map(Provider::Google, 429, body);
        assert_eq!(err.code, "provider_rate_limited");
        assert_eq!(err.retry_after, Some(2));
    }

    #[test]
    fn retry_after_header_read() {
        let mut headers = http::HeaderMap::new();
        headers.insert("retry-after", http::HeaderValue::from_static("7"));
        let err = from_response(Provider::Anthropic, 429, &headers, b"{}");
        assert_eq!(err.retry_after, Some(7));
    }

    #[test]
    fn openai_code_beats_type() {
        let err = map(
            Provider::Openai,
            429,
            json!({"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        );
        assert_eq!(err.code, "provider_rate_limited");
        let err = map(
            Provider::Openai,
            401,
            json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}),
        );
        assert_eq!(err.code, "provider_auth_failed");
    }

    #[test]
    fn html_body_mapped_by_status() {
        let err = from_response(
            Provider::Google,
            502,
            &http::HeaderMap::new(),
            b"<html>bad gateway</html>",
        );
        assert_eq!(err.code, "upstream_error");
        assert_eq!(err.message, "Gemini returned HTTP 502");
    }

    #[test]
    fn stream_error_without_status() {
        let err = from_stream_error(
            Provider::Anthropic,
            &json!({"type": "error", "error": {"type": "invalid_request_error", "message": "too long"}}),
        );
        assert_eq!(err.code, "upstream_invalid_request");
        assert_eq!(err.status(), 400);
    }
}
