//! Google Gemini `generateContent` behind the OpenAI chat interface.
//!
//! Requests go to `POST {base_url}/models/{model}:generateContent`, or
//! `:streamGenerateContent?alt=sse` when streamed, with `x-goog-api-key`.

mod request;
mod response;
mod stream;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

use crate::error::GatewayError;
use crate::translate::anthropic::secret_header;
use crate::translate::chat::ChatInput;
use crate::translate::{
    errors, Adapter, CallContext, ChatRequest, Completion, Provider, StreamTranslator,
    UpstreamRequest,
};

pub use stream::GeminiStream;

/// Tool-call ids starting with this were minted by the gateway or came from OpenAI, and are
/// never sent to Gemini.
const MINTED_ID_PREFIX: &str = "call_";

pub struct Gemini;

pub static GEMINI: Gemini = Gemini;

/// Percent-encode a model id for a URL path segment, keeping RFC 3986 unreserved characters.
fn path_segment(model: &str) -> String {
    let mut out = String::with_capacity(model.len());
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn url(ctx: &CallContext<'_>) -> String {
    let method = if ctx.stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    format!(
        "{}/models/{}:{method}",
        ctx.base_url,
        path_segment(ctx.upstream_model)
    )
}

impl Adapter for Gemini {
    fn build_request(
        &self,
        request: &ChatRequest,
        ctx: &CallContext<'_>,
    ) -> Result<UpstreamRequest, GatewayError> {
        let input = ChatInput::parse(&request.json)?;
        let body = request::build_body(&input)?;
        let mut headers = HeaderMap::new();
        headers.insert("x-goog-api-key", secret_header(ctx.api_key)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(UpstreamRequest {
            url: url(ctx),
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
        errors::from_response(Provider::Google, status, headers, body)
    }

    fn stream_translator(&self, ctx: &CallContext<'_>) -> Box<dyn StreamTranslator> {
        Box::new(GeminiStream::new(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_id_escaped_in_path() {
        assert_eq!(path_segment("gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(path_segment("a/b:c"), "a%2Fb%3Ac");
    }
}
