//! Provider errors mapped into the gateway's error envelope.
//!
//! [`RULES`] is the one table. The HTTP status decides the class of the
//! outcome: a 4xx is the request's or the platform key's problem, a 5xx is the
//! provider's. 401, 403, 429, 503 and 529 decide the outcome outright. For
//! other statuses the provider's error kind (Anthropic's `error.type`,
//! Gemini's `error.status` or `ErrorInfo` reason, OpenAI's `error.code` or
//! `error.type`) picks the outcome when it belongs to the same class. So a
//! Gemini 400 whose reason is `API_KEY_INVALID` is an auth failure, but a 500
//! that claims `invalid_request_error` stays a provider fault. Errors inside a
//! stream usually have no status, and there the kind alone decides.

use serde_json::Value;

use crate::error::GatewayError;
use crate::translate::Provider;

#[derive(Clone, Copy, Debug)]
enum Match {
    /// A provider error kind, compared exactly.
    Kind(&'static str),
    /// An HTTP status that decides the outcome whatever kind the error body names.
    Fixed(u16),
    /// An inclusive range of HTTP statuses whose outcome the error kind may refine within
    /// the status class.
    Status(u16, u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// `upstream_invalid_request` with the provider's message and its 4xx status, or this status
    /// when the provider gave none (an error inside a stream).
    Relay(u16),
    /// A gateway code for a provider 4xx that is not the request's fault.
    Client(&'static str),
    /// A gateway code for a provider fault.
    Server(&'static str),
}

impl Outcome {
    /// Tell whether this outcome belongs to the class of HTTP `status` (4xx or 5xx).
    fn in_class_of(self, status: u16) -> bool {
        match self {
            Relay(_) | Client(_) => (400..500).contains(&status),
            Server(_) => (500..600).contains(&status),
        }
    }
}

use Match::{Fixed, Kind, Status};
use Outcome::{Client, Relay, Server};

const RULES: &[(Match, Outcome)] = &[
    // Overloaded or unavailable.
    (Kind("overloaded_error"), Server("upstream_overloaded")),
    (Kind("UNAVAILABLE"), Server("upstream_overloaded")),
    // Rate limits and quotas of the platform's provider key.
    (Kind("rate_limit_error"), Client("provider_rate_limited")),
    (Kind("RESOURCE_EXHAUSTED"), Client("provider_rate_limited")),
    (Kind("rate_limit_exceeded"), Client("provider_rate_limited")),
    (Kind("insufficient_quota"), Client("provider_rate_limited")),
    // The platform's provider key is wrong or lacks access.
    (Kind("authentication_error"), Client("provider_auth_failed")),
    (Kind("permission_error"), Client("provider_auth_failed")),
    (Kind("UNAUTHENTICATED"), Client("provider_auth_failed")),
    (Kind("PERMISSION_DENIED"), Client("provider_auth_failed")),
    (Kind("invalid_api_key"), Client("provider_auth_failed")),
    (Kind("API_KEY_INVALID"), Client("provider_auth_failed")),
    // The request itself: relayed with the provider's message.
    (Kind("invalid_request_error"), Relay(400)),
    (Kind("INVALID_ARGUMENT"), Relay(400)),
    (Kind("FAILED_PRECONDITION"), Relay(400)),
    (Kind("OUT_OF_RANGE"), Relay(400)),
    (Kind("not_found_error"), Relay(404)),
    (Kind("NOT_FOUND"), Relay(404)),
    (Kind("request_too_large"), Relay(413)),
    // Provider faults.
    (Kind("api_error"), Server("upstream_error")),
    (Kind("server_error"), Server("upstream_error")),
    (Kind("INTERNAL"), Server("upstream_error")),
    (Kind("UNKNOWN"), Server("upstream_error")),
    (Kind("timeout_error"), Server("upstream_timeout")),
    (Kind("DEADLINE_EXCEEDED"), Server("upstream_timeout")),
    // Statuses whose meaning no body changes.
    (Fixed(401), Client("provider_auth_failed")),
    (Fixed(403), Client("provider_auth_failed")),
    (Fixed(429), Client("provider_rate_limited")),
    (Fixed(503), Server("upstream_overloaded")),
    (Fixed(529), Server("upstream_overloaded")),
    // Defaults of the other statuses, refined by a kind of the same class.
    (Status(400, 499), Relay(400)),
    (Status(504, 504), Server("upstream_timeout")),
    (Status(500, 599), Server("upstream_error")),
];

/// Look up the outcome of a provider error kind; `None` for a kind not in the table.
fn by_kind(kind: Option<&str>) -> Option<Outcome> {
    RULES.iter().find_map(|(rule, outcome)| match rule {
        Kind(k) if Some(*k) == kind => Some(*outcome),
        _ => None,
    })
}

/// Pick the outcome of an error from its HTTP status (when there is one) and its kind.
fn find(kind: Option<&str>, status: Option<u16>) -> Outcome {
    let from_kind = by_kind(kind);
    let Some(status) = status else {
        return from_kind.unwrap_or(Server("upstream_error"));
    };
    let from_status = RULES.iter().find_map(|(rule, outcome)| match rule {
        Fixed(fixed) if *fixed == status => Some((*outcome, true)),
        Status(low, high) if (*low..=*high).contains(&status) => Some((*outcome, false)),
        _ => None,
    });
    match from_status {
        Some((outcome, true)) => outcome,
        Some((outcome, false)) => from_kind
            .filter(|refined| refined.in_class_of(status))
            .unwrap_or(outcome),
        // A status outside 4xx and 5xx, which a provider should not send with an error body.
        None => from_kind.unwrap_or(Server("upstream_error")),
    }
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
    let known = |kind: &String| by_kind(Some(kind)).is_some();
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
    let outcome = find(kind.as_deref(), status);
    let code = match outcome {
        Relay(default_status) => {
            let status = status
                .filter(|s| (400..500).contains(s))
                .unwrap_or(default_status);
            let message = message
                .unwrap_or_else(|| format!("{name} rejected the request with HTTP {status}"));
            return GatewayError::new("upstream_invalid_request", message).with_status(status);
        }
        Client(code) | Server(code) => code,
    };
    // Name the kind when it agrees with the outcome, else the status that overruled it.
    let what = match (&kind, status) {
        (Some(kind), _) if by_kind(Some(kind)) == Some(outcome) => kind.clone(),
        (Some(kind), Some(status)) => format!("HTTP {status} ({kind})"),
        (Some(kind), None) => kind.clone(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => "an error".to_owned(),
    };
    let message = match message {
        Some(text) => format!("{name} returned {what}: {text}"),
        None => format!("{name} returned {what}"),
    };
    GatewayError::new(code, message)
}

/// `Retry-After` seconds sent after a provider rate limit that gave no delay, so that every 429
/// carries a delay for the client.
const DEFAULT_RETRY_AFTER: u64 = 1;

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
    if error.code == "provider_rate_limited" && error.retry_after.is_none() {
        error = error.with_retry_after(DEFAULT_RETRY_AFTER);
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

    /// Map a provider error response to its gateway code and status.
    fn outcome(provider: Provider, status: u16, body: Value) -> (&'static str, u16) {
        let err = map(provider, status, body);
        (err.code, err.status())
    }

    fn anthropic(kind: &str) -> Value {
        json!({"type": "error", "error": {"type": kind, "message": "m"}})
    }

    fn gemini(status: &str) -> Value {
        json!({"error": {"code": 400, "message": "m", "status": status}})
    }

    fn openai(kind: &str) -> Value {
        json!({"error": {"message": "m", "type": kind, "param": null, "code": null}})
    }

    #[test]
    fn auth_statuses_win_over_the_body() {
        let cases = [
            (Provider::Openai, 401, openai("invalid_request_error")),
            (Provider::Openai, 403, openai("server_error")),
            (Provider::Anthropic, 401, anthropic("invalid_request_error")),
            (Provider::Anthropic, 403, anthropic("rate_limit_error")),
            (Provider::Google, 401, gemini("INVALID_ARGUMENT")),
            (Provider::Google, 403, gemini("UNAVAILABLE")),
        ];
        for (provider, status, body) in cases {
            let got = outcome(provider, status, body.clone());
            assert_eq!(got, ("provider_auth_failed", 502), "{status} {body}");
        }
    }

    #[test]
    fn rate_limit_status_wins_over_the_body() {
        let mut headers = http::HeaderMap::new();
        headers.insert("retry-after", http::HeaderValue::from_static("9"));
        let cases = [
            (Provider::Openai, openai("invalid_request_error")),
            (Provider::Anthropic, anthropic("api_error")),
            (Provider::Anthropic, anthropic("authentication_error")),
            (Provider::Google, gemini("INVALID_ARGUMENT")),
        ];
        for (provider, body) in cases {
            let err = from_response(provider, 429, &headers, body.to_string().as_bytes());
            assert_eq!(
                (err.code, err.status()),
                ("provider_rate_limited", 429),
                "{body}"
            );
            assert_eq!(err.retry_after, Some(9), "{body}");
        }
    }

    #[test]
    fn rate_limit_without_delay_gets_default_retry_after() {
        let err = map(Provider::Anthropic, 429, anthropic("rate_limit_error"));
        assert_eq!(err.retry_after, Some(DEFAULT_RETRY_AFTER));
        let err = map(Provider::Google, 400, gemini("RESOURCE_EXHAUSTED"));
        assert_eq!(err.retry_after, Some(DEFAULT_RETRY_AFTER));
    }

    #[test]
    fn overload_statuses_win_over_the_body() {
        let cases = [
            (Provider::Anthropic, 529, anthropic("api_error")),
            (Provider::Anthropic, 503, anthropic("invalid_request_error")),
            (Provider::Google, 503, gemini("INTERNAL")),
            (Provider::Openai, 503, openai("server_error")),
        ];
        for (provider, status, body) in cases {
            let got = outcome(provider, status, body.clone());
            assert_eq!(got, ("upstream_overloaded", 503), "{status} {body}");
        }
    }

    #[test]
    fn kind_refines_within_the_server_class() {
        let cases = [
            (
                500,
                anthropic("overloaded_error"),
                ("upstream_overloaded", 503),
            ),
            (500, gemini("DEADLINE_EXCEEDED"), ("upstream_timeout", 504)),
            (502, anthropic("timeout_error"), ("upstream_timeout", 504)),
            (504, anthropic("api_error"), ("upstream_error", 502)),
            (504, anthropic("unknown_kind"), ("upstream_timeout", 504)),
            // A kind of the client class does not make a provider fault the caller's.
            (
                500,
                anthropic("invalid_request_error"),
                ("upstream_error", 502),
            ),
            (
                500,
                anthropic("authentication_error"),
                ("upstream_error", 502),
            ),
            (502, gemini("RESOURCE_EXHAUSTED"), ("upstream_error", 502)),
        ];
        for (status, body, expected) in cases {
            let got = outcome(Provider::Anthropic, status, body.clone());
            assert_eq!(got, expected, "{status} {body}");
        }
    }

    #[test]
    fn kind_refines_within_the_client_class() {
        let cases = [
            (
                400,
                anthropic("rate_limit_error"),
                ("provider_rate_limited", 429),
            ),
            (
                400,
                gemini("PERMISSION_DENIED"),
                ("provider_auth_failed", 502),
            ),
            (
                404,
                anthropic("invalid_request_error"),
                ("upstream_invalid_request", 404),
            ),
            (
                422,
                anthropic("not_found_error"),
                ("upstream_invalid_request", 422),
            ),
            // A kind of the server class does not turn a rejected request into a fault.
            (
                400,
                anthropic("overloaded_error"),
                ("upstream_invalid_request", 400),
            ),
            (409, gemini("INTERNAL"), ("upstream_invalid_request", 409)),
        ];
        for (status, body, expected) in cases {
            let got = outcome(Provider::Anthropic, status, body.clone());
            assert_eq!(got, expected, "{status} {body}");
        }
    }

    #[test]
    fn overruled_kind_named_with_the_status() {
        let err = map(Provider::Openai, 401, openai("invalid_request_error"));
        assert_eq!(
            err.message,
            "OpenAI returned HTTP 401 (invalid_request_error): m"
        );
        let err = map(Provider::Anthropic, 500, anthropic("overloaded_error"));
        assert_eq!(err.message, "Anthropic returned overloaded_error: m");
        let relayed = map(Provider::Anthropic, 400, anthropic("overloaded_error"));
        assert_eq!(relayed.message, "m");
    }

    #[test]
    fn stream_error_kind_decides_without_status() {
        let overloaded = from_stream_error(Provider::Anthropic, &anthropic("overloaded_error"));
        assert_eq!(
            (overloaded.code, overloaded.status()),
            ("upstream_overloaded", 503)
        );
        let unknown = from_stream_error(Provider::Anthropic, &anthropic("novel_error"));
        assert_eq!((unknown.code, unknown.status()), ("upstream_error", 502));
        // Gemini's in-stream error carries its HTTP code, which decides as a status does.
        let event = json!({"error": {"code": 429, "message": "m", "status": "INVALID_ARGUMENT"}});
        let limited = from_stream_error(Provider::Google, &event);
        assert_eq!(limited.code, "provider_rate_limited");
    }
}
