//! Anthropic Messages API behind the OpenAI chat interface.
//!
//! Requests go to `POST {base_url}/messages` with `x-api-key` and
//! `anthropic-version: 2023-06-01`. `response_format` is carried by a forced
//! tool named [`ANSWER_TOOL`] whose input is returned as the message content.

mod request;
mod response;
mod stream;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

use crate::error::GatewayError;
use crate::translate::chat::ChatInput;
use crate::translate::{
    errors, Adapter, CallContext, ChatRequest, Completion, Provider, StreamTranslator,
    UpstreamRequest,
};

pub use stream::AnthropicStream;

/// The tool that carries `response_format`; callers may not define a tool of this name.
pub const ANSWER_TOOL: &str = "json_response";

pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic;

pub static ANTHROPIC: Anthropic = Anthropic;

/// OpenAI's `finish_reason` for Anthropic's `stop_reason`. A `tool_use` stop whose only tool
/// call was the answer tool is a plain `stop`.
fn finish_reason(stop_reason: Option<&str>, caller_tools: bool) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") if caller_tools => "tool_calls",
        Some("refusal") => "content_filter",
        // end_turn, stop_sequence, pause_turn, a tool_use of the answer tool, and unknown values.
        _ => "stop",
    }
}

/// A header value from a configured secret, which must be visible ASCII.
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, GatewayError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        GatewayError::new(
            "provider_auth_failed",
            "the provider key contains characters that are not allowed in an HTTP header",
        )
    })?;
    header.set_sensitive(true);
    Ok(header)
}

impl Adapter for Anthropic {
    fn build_request(
        &self,
        request: &ChatRequest,
        ctx: &CallContext<'_>,
    ) -> Result<UpstreamRequest, GatewayError> {
        let input = ChatInput::parse(&request.json)?;
        let body = request::build_body(&input, ctx)?;
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", secret_header(ctx.api_key)?);
        headers.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(UpstreamRequest {
            url: format!("{}/messages", ctx.base_url),
            headers,
            body: Bytes::from(body.to_string()),
        })
    }

    fn parse_response(
        &self,
        body: &[u8],
        ctx: &CallContext<'_>,
    ) -> Result<Completion, GatewayError> {
        response::parse(body, ctx)
    }

    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        errors::from_response(Provider::Anthropic, status, headers, body)
    }

    fn stream_translator(&self, ctx: &CallContext<'_>) -> Box<dyn StreamTranslator> {
        Box::new(AnthropicStream::new(ctx))
    }
}
