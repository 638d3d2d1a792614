//! The gateway's error type and its JSON envelope.
//!
//! Every error the gateway answers with has a stable `code`. The table in
//! [`CODES`] maps each code to its HTTP status and OpenAI-style `type`; the
//! control plane reads the same table through the binding, so both planes
//! answer one code with one status.

use std::fmt;

use serde::Serialize;

/// Where an error started: the caller's request, an upstream provider, or the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Client,
    Upstream,
    Internal,
}

/// One row of the error table.
#[derive(Clone, Copy, Debug)]
pub struct CodeInfo {
    pub code: &'static str,
    pub status: u16,
    pub error_type: &'static str,
}

const fn row(code: &'static str, status: u16, error_type: &'static str) -> CodeInfo {
    CodeInfo {
        code,
        status,
        error_type,
    }
}

/// Every error code the gateway emits, with its status and envelope `type`.
pub const CODES: &[CodeInfo] = &[
    row("invalid_request", 400, "invalid_request_error"),
    row("invalid_json", 400, "invalid_request_error"),
    row("unsupported_parameter", 400, "invalid_request_error"),
    row("platform_id_required", 400, "invalid_request_error"),
    row("provider_not_configured", 400, "invalid_request_error"),
    row("upstream_invalid_request", 400, "invalid_request_error"),
    row("invalid_api_key", 401, "authentication_error"),
    row("wallet_insufficient", 402, "payment_required_error"),
    row("budget_exhausted", 402, "payment_required_error"),
    row("budget_suspended", 402, "payment_required_error"),
    row("end_user_key_required", 403, "permission_error"),
    row("platform_key_required", 403, "permission_error"),
    row("platform_forbidden", 403, "permission_error"),
    row("not_found", 404, "not_found_error"),
    row("model_not_found", 404, "not_found_error"),
    row("method_not_allowed", 405, "invalid_request_error"),
    row("conflict", 409, "invalid_request_error"),
    row("idempotency_key_in_use", 409, "idempotency_error"),
    row("payload_too_large", 413, "invalid_request_error"),
    row("unsupported_media_type", 415, "invalid_request_error"),
    row("idempotency_key_reused", 422, "idempotency_error"),
    row("rate_limited", 429, "rate_limit_error"),
    row("provider_rate_limited", 429, "rate_limit_error"),
    row("internal_error", 500, "api_error"),
    row("upstream_error", 502, "upstream_error"),
    row("provider_auth_failed", 502, "upstream_error"),
    row("not_ready", 503, "api_error"),
    row("upstream_overloaded", 503, "upstream_error"),
    row("upstream_timeout", 504, "upstream_error"),
];

/// Look up a code in [`CODES`]; unknown codes are internal errors.
pub fn code_info(code: &str) -> CodeInfo {
    CODES
        .iter()
        .find(|info| info.code == code)
        .copied()
        .unwrap_or(row("internal_error", 500, "api_error"))
}

/// Response headers carried by an error.
#[derive(Debug, Default)]
struct ExtraHeaders(Vec<(&'static str, String)>);

/// An error answered to a client, with enough context to log it once.
#[derive(Debug)]
pub struct GatewayError {
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub source: Source,
    /// Overrides the table's status, used when an upstream 4xx is relayed as is.
    pub status: Option<u16>,
    /// Seconds the client should wait, sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// More response headers, such as the `x-ratelimit-*` set of a 429; boxed
    /// so that the error stays small on the happy path's `Result`s.
    headers: Option<Box<ExtraHeaders>>,
    pub cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl GatewayError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let source = match code_info(code).status {
            500 => Source::Internal,
            502..=504 => Source::Upstream,
            _ => Source::Client,
        };
        Self {
            code,
            message: message.into(),
            param: None,
            source,
            status: None,
            retry_after: None,
            headers: None,
            cause: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Add a response header sent with the envelope.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Box::default)
            .0
            .push((name, value.into()));
        self
    }

    /// The extra response headers, in the order they were added.
    pub fn headers(&self) -> &[(&'static str, String)] {
        self.headers
            .as_ref()
            .map_or(&[], |extra| extra.0.as_slice())
    }

    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| code_info(self.code).status)
    }

    /// Whether a client may retry the same request unchanged.
    pub fn retryable(&self) -> bool {
        matches!(self.status(), 408 | 409 | 429 | 500..=599)
    }

    /// Render the envelope `{"error": {message, type, code, param, request_id}}`.
    pub fn to_json(&self, request_id: &str) -> Vec<u8> {
        envelope(
            self.code,
            &self.message,
            self.param.as_deref(),
            request_id,
            None,
        )
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for GatewayError {}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    error_type: &'a str,
    code: &'a str,
    param: Option<&'a str>,
    request_id: &'a str,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

/// Serialize one error envelope. `error_type` overrides the table's type.
pub fn envelope(
    code: &str,
    message: &str,
    param: Option<&str>,
    request_id: &str,
    error_type: Option<&str>,
) -> Vec<u8> {
    let info = code_info(code);
    let body = Envelope {
        error: Body {
            message,
            error_type: error_type.unwrap_or(info.error_type),
            code,
            param,
            request_id,
        },
    };
    serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":{}}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_every_field() {
        let err = GatewayError::new("invalid_request", "bad").with_param("model");
        let value: serde_json::Value = serde_json::from_slice(&err.to_json("req_1")).unwrap();
        assert_eq!(value["error"]["message"], "bad");
        assert_eq!(value["error"]["type"], "invalid_request_error");
        assert_eq!(value["error"]["code"], "invalid_request");
        assert_eq!(value["error"]["param"], "model");
        assert_eq!(value["error"]["request_id"], "req_1");
    }

    #[test]
    fn null_param_is_present() {
        let err = GatewayError::new("not_found", "no such route");
        let value: serde_json::Value = serde_json::from_slice(&err.to_json("req_2")).unwrap();
        assert!(value["error"].as_object().unwrap().contains_key("param"));
        assert!(value["error"]["param"].is_null());
    }

    #[test]
    fn codes_are_unique() {
        for (i, a) in CODES.iter().enumerate() {
            for b in &CODES[i + 1..] {
                assert_ne!(a.code, b.code);
            }
        }
    }

    #[test]
    fn unknown_code_is_internal() {
        assert_eq!(code_info("nope").status, 500);
        assert_eq!(
            GatewayError::new("upstream_timeout", "x").source,
            Source::Upstream
        );
    }
}
