//! Error documents in each provider's shape.
//!
//! OpenAI and xAI: `{"error": {"message", "type", "param", "code"}}`.
//! Anthropic: `{"type": "error", "error": {"type", "message"}, "request_id"}`.
//! Gemini: `{"error": {"code", "message", "status"}}` with a gRPC status name.
//! A directive's `error` fields replace the defaults chosen by HTTP status.

use bytes::Bytes;
use serde::Serialize;

use super::script::ErrorSpec;
use super::wire;

/// The provider whose error shape a response uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Openai,
    Anthropic,
    Gemini,
}

/// Render the error body for `status` in `shape`.
pub fn body(shape: Shape, status: u16, spec: &ErrorSpec, request_id: &str) -> Bytes {
    let json = match shape {
        Shape::Openai => wire::to_json(&openai(status, spec)),
        Shape::Anthropic => wire::to_json(&anthropic(status, spec, Some(request_id))),
        Shape::Gemini => wire::to_json(&gemini(status, spec)),
    };
    Bytes::from(json)
}

#[derive(Serialize)]
pub struct OpenaiError<'a> {
    error: OpenaiFields<'a>,
}

#[derive(Serialize)]
struct OpenaiFields<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// Look up the usual `type`, `code` and message of an OpenAI error with `status`.
fn openai_defaults(status: u16) -> (&'static str, Option<&'static str>, &'static str) {
    match status {
        401 => (
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        ),
        403 => (
            "invalid_request_error",
            Some("unsupported_country_region_territory"),
            "Country, region, or territory not supported",
        ),
        404 => (
            "invalid_request_error",
            Some("model_not_found"),
            "The model does not exist or you do not have access to it.",
        ),
        429 => (
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached for requests. Please try again later.",
        ),
        503 => (
            "server_error",
            None,
            "The engine is currently overloaded, please try again later.",
        ),
        500..=599 => (
            "server_error",
            None,
            "The server had an error while processing your request. Sorry about that!",
        ),
        _ => ("invalid_request_error", None, "Invalid request."),
    }
}

pub fn openai(status: u16, spec: &ErrorSpec) -> OpenaiError<'_> {
    let (kind, code, message) = openai_defaults(status);
    OpenaiError {
        error: OpenaiFields {
            message: spec.message.as_deref().unwrap_or(message),
            kind: spec.kind.as_deref().unwrap_or(kind),
            param: spec.param.as_deref(),
            code: spec.code.as_deref().or(code),
        },
    }
}

#[derive(Serialize)]
pub struct AnthropicError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: AnthropicFields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct AnthropicFields<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

fn anthropic_defaults(status: u16) -> (&'static str, &'static str) {
    match status {
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "This request would exceed your organization's rate limit.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Invalid request."),
    }
}

/// Build Anthropic's error document. In-stream error events carry no `request_id`.
pub fn anthropic<'a>(
    status: u16,
    spec: &'a ErrorSpec,
    request_id: Option<&'a str>,
) -> AnthropicError<'a> {
    let (kind, message) = anthropic_defaults(status);
    AnthropicError {
        kind: "error",
        error: AnthropicFields {
            kind: spec.kind.as_deref().unwrap_or(kind),
            message: spec.message.as_deref().unwrap_or(message),
        },
        request_id,
    }
}

#[derive(Serialize)]
pub struct GeminiError<'a> {
    error: GeminiFields<'a>,
}

#[derive(Serialize)]
struct GeminiFields<'a> {
    code: u16,
    message: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<serde_json::Value>,
}

fn gemini_defaults(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401 => (
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        ),
        403 => (
            "PERMISSION_DENIED",
            "The caller does not have permission",
        ),
        404 => ("NOT_FOUND", "Requested entity was not found."),
        409 => ("ABORTED", "The operation was aborted."),
        429 => (
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        ),
        499 => ("CANCELLED", "The operation was cancelled."),
        501 => ("UNIMPLEMENTED", "Operation is not implemented."),
        503 => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
        504 => ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
        500..=599 => (
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        _ => ("FAILED_PRECONDITION", "Precondition check failed."),
    }
}

/// Map a gRPC status name to its HTTP status, for in-stream errors.
pub fn gemini_code(status_name: &str) -> Option<u16> {
    let code = match status_name {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "ABORTED" | "ALREADY_EXISTS" => 409,
        "RESOURCE_EXHAUSTED" => 429,
        "CANCELLED" => 499,
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => 500,
        "UNIMPLEMENTED" => 501,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => return None,
    };
    Some(code)
}

pub fn gemini(status: u16, spec: &ErrorSpec) -> GeminiError<'_> {
    gemini_with_details(status, spec, Vec::new())
}

pub fn gemini_with_details(
    status: u16,
    spec: &ErrorSpec,
    details: Vec<serde_json::Value>,
) -> GeminiError<'_> {
    let (name, message) = gemini_defaults(status);
    GeminiError {
        error: GeminiFields {
            code: status,
            message: spec.message.as_deref().unwrap_or(message),
            status: spec
                .status
                .as_deref()
                .or(spec.kind.as_deref())
                .unwrap_or(name),
            details,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parsed(bytes: Bytes) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn openai_defaults_by_status() {
        let body = parsed(body(Shape::Openai, 429, &ErrorSpec::default(), "req_1"));
        assert_eq!(
            body,
            json!({"error": {"message": "Rate limit reached for requests. Please try again later.",
                "type": "requests", "param": null, "code": "rate_limit_exceeded"}})
        );
    }

    #[test]
    fn openai_fields_from_directive() {
        let spec = ErrorSpec {
            kind: Some("insufficient_quota".to_owned()),
            code: Some("insufficient_quota".to_owned()),
            message: Some("You exceeded your current quota.".to_owned()),
            param: Some("model".to_owned()),
            status: None,
        };
        let body = parsed(body(Shape::Openai, 429, &spec, "req_1"));
        assert_eq!(body["error"]["type"], "insufficient_quota");
        assert_eq!(body["error"]["code"], "insufficient_quota");
        assert_eq!(body["error"]["param"], "model");
        assert_eq!(body["error"]["message"], "You exceeded your current quota.");
    }

    #[test]
    fn anthropic_overloaded() {
        let body = parsed(body(Shape::Anthropic, 529, &ErrorSpec::default(), "req_9"));
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                "request_id": "req_9"})
        );
    }

    #[test]
    fn anthropic_in_stream_error_has_no_request_id() {
        let spec = ErrorSpec::default();
        let value = serde_json::to_value(anthropic(500, &spec, None)).unwrap();
        assert_eq!(
            value,
            json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}})
        );
    }

    #[test]
    fn gemini_status_names() {
        let plain = parsed(body(Shape::Gemini, 400, &ErrorSpec::default(), "r"));
        assert_eq!(plain["error"]["code"], 400);
        assert_eq!(plain["error"]["status"], "INVALID_ARGUMENT");
        let spec = ErrorSpec {
            status: Some("FAILED_PRECONDITION".to_owned()),
            ..ErrorSpec::default()
        };
        let chosen = parsed(body(Shape::Gemini, 400, &spec, "r"));
        assert_eq!(chosen["error"]["status"], "FAILED_PRECONDITION");
        assert_eq!(gemini_code("RESOURCE_EXHAUSTED"), Some(429));
        assert_eq!(gemini_code("nope"), None);
    }
}
