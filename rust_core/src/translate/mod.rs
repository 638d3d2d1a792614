//! Provider adapters: OpenAI chat completions in, each provider's wire format
//! out, and the provider's answer back as OpenAI chat completions.
//!
//! OpenAI's chat format is the gateway's lingua franca. Every adapter turns a
//! chat request into the provider's request, and the provider's answer into a
//! `chat.completion` body or a sequence of `chat.completion.chunk` documents.
//! The chat endpoint frames those chunks as SSE; the Responses API converts
//! them further. Adapters are plain Rust with no I/O, so each one is tested
//! on bytes alone.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;
use crate::sse;

pub mod anthropic;
pub mod chat;
pub mod errors;
pub mod gemini;
pub mod openai;

pub use anthropic::ANTHROPIC;
pub use gemini::GEMINI;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Openai,
    Anthropic,
    Google,
    Xai,
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Provider::Openai,
        Provider::Anthropic,
        Provider::Google,
        Provider::Xai,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Google => "google",
            Provider::Xai => "xai",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Token counts of one call in OpenAI's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Every prompt token, cached or not (OpenAI `prompt_tokens`).
    pub prompt_tokens: u64,
    /// Prompt tokens read from the provider's cache (`prompt_tokens_details.cached_tokens`).
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's cache (Anthropic's cache creation).
    pub cache_write_tokens: u64,
    /// Output tokens, reasoning included (OpenAI `completion_tokens`).
    pub completion_tokens: u64,
    /// Reasoning or thinking tokens (`completion_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: u64,
}

/// A chat-completions request body as the client sent it.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    /// The exact bytes, for adapters that forward untouched fields byte for byte.
    pub raw: Bytes,
    /// The same body parsed.
    pub json: serde_json::Map<String, serde_json::Value>,
}

/// What an adapter needs to know about a call beyond its body.
#[derive(Clone, Debug)]
pub struct CallContext<'a> {
    /// The provider's own model id, sent upstream.
    pub upstream_model: &'a str,
    /// The model name the client used, echoed back in `model`.
    pub client_model: &'a str,
    /// Base URL of the provider's API without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: &'a str,
    pub api_key: &'a str,
    /// Output limit to send when the provider requires one and the client gave none.
    pub default_max_tokens: u32,
    pub stream: bool,
    /// Whether the client asked for the final usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// The gateway's request id, which adapters may use to mint stable ids.
    pub request_id: &'a str,
    /// Unix seconds used as `created` when the provider gives none.
    pub created: u64,
}

/// An HTTP request ready to send upstream.
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    pub url: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A translated non-streamed answer.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The `chat.completion` JSON document for the client.
    pub body: Bytes,
    pub usage: Usage,
}

/// Whether the upstream stream goes on after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The provider signalled the end; later bytes are ignored.
    Done,
}

/// Translates one upstream event stream into `chat.completion.chunk` documents.
pub trait StreamTranslator: Send {
    /// Translate one upstream event, appending zero or more chunk documents (JSON, without SSE
    /// framing) to `out`. An `Err` is a provider error inside the stream; the relay sends it to
    /// the client as an error event and closes the stream.
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<Bytes>) -> Result<Flow, GatewayError>;

    /// The upstream body ended. Append the closing chunks (the usage chunk when the client asked
    /// for it). An `Err` means the stream stopped before the provider finished it.
    fn on_end(&mut self, out: &mut Vec<Bytes>) -> Result<(), GatewayError>;

    /// Usage reported by the provider so far, if any.
    fn usage(&self) -> Option<Usage>;

    /// Characters of output text, reasoning and tool arguments streamed so far, used to
    /// estimate usage when a stream is cut before the provider reports it.
    fn streamed_chars(&self) -> usize;
}

/// One provider's translation in both directions.
pub trait Adapter: Sync {
    fn build_request(
        &self,
        request: &ChatRequest,
        ctx: &CallContext<'_>,
    ) -> Result<UpstreamRequest, GatewayError>;

    /// Translate a 2xx non-streamed answer.
    fn parse_response(
        &self,
        body: &[u8],
        ctx: &CallContext<'_>,
    ) -> Result<Completion, GatewayError>;

    /// Map a non-2xx answer into the gateway's error.
    fn parse_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> GatewayError;

    fn stream_translator(&self, ctx: &CallContext<'_>) -> Box<dyn StreamTranslator>;
}

/// Return the adapter that speaks `provider`'s wire format.
pub fn adapter(provider: Provider) -> Option<&'static dyn Adapter> {
    match provider {
        Provider::Openai => Some(&openai::OPENAI),
        Provider::Xai => Some(&openai::XAI),
        Provider::Anthropic => Some(&ANTHROPIC),
        Provider::Google => Some(&GEMINI),
    }
}

/// The provider's public API base URL, used when a platform's config sets none.
pub fn default_base_url(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "https://api.openai.com/v1",
        Provider::Anthropic => "https://api.anthropic.com/v1",
        Provider::Google => "https://generativelanguage.googleapis.com/v1beta",
        Provider::Xai => "https://api.x.ai/v1",
    }
}
