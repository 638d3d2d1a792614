//! OpenAI and xAI: both speak OpenAI's chat-completions format, so the
//! request passes through with only what must change.
//!
//! The body is read as an ordered map of raw JSON values, `model` is replaced
//! by the upstream id and, on streams, `stream_options.include_usage` is set so
//! that the gateway can meter. Every other field, including ones this gateway
//! does not know, keeps its exact bytes and position. Responses pass back
//! untouched except the final usage chunk, which is dropped when the client
//! did not request it.

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    errors, Adapter, CallContext, ChatRequest, Completion, Flow, Provider, StreamTranslator,
    UpstreamRequest, Usage,
};
use crate::error::GatewayError;
use crate::sse;

/// The adapter for one OpenAI-compatible provider.
pub struct OpenAiCompatible {
    pub provider: Provider,
}

pub static OPENAI: OpenAiCompatible = OpenAiCompatible {
    provider: Provider::Openai,
};
pub static XAI: OpenAiCompatible = OpenAiCompatible {
    provider: Provider::Xai,
};

impl OpenAiCompatible {
    fn name(&self) -> &'static str {
        errors::provider_name(self.provider)
    }
}

type RawMap = IndexMap<String, Box<RawValue>>;

fn raw(json: &str) -> Result<Box<RawValue>, GatewayError> {
    RawValue::from_string(json.to_owned()).map_err(|err| {
        GatewayError::new("internal_error", "could not encode a field").with_cause(err)
    })
}

fn invalid_body(err: serde_json::Error) -> GatewayError {
    GatewayError::new(
        "invalid_json",
        format!("the request body is not a JSON object: {err}"),
    )
}

/// Set `include_usage: true` inside the client's `stream_options`, keeping its other fields.
fn stream_options_with_usage(existing: Option<&RawValue>) -> Result<Box<RawValue>, GatewayError> {
    let mut options: RawMap = match existing {
        Some(value) if value.get() != "null" => {
            serde_json::from_str(value.get()).map_err(|_| {
                GatewayError::new("invalid_request", "stream_options must be an object")
                    .with_param("stream_options")
            })?
        }
        _ => RawMap::new(),
    };
    options.insert("include_usage".to_owned(), raw("true")?);
    let text = serde_json::to_string(&options).map_err(|err| {
        GatewayError::new("internal_error", "could not encode stream_options").with_cause(err)
    })?;
    raw(&text)
}

/// Read the `error.param` of an OpenAI-style error body, which the SDKs expose to callers.
fn upstream_param(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Detail {
        param: Option<String>,
    }
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    serde_json::from_slice::<Envelope>(body).ok()?.error.param
}

/// Map an error response of an OpenAI-compatible provider through the shared error table,
/// keeping the provider's `param` on relayed 4xx errors.
pub fn map_upstream_error(
    provider: Provider,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> GatewayError {
    let mut err = errors::from_response(provider, status, headers, body);
    if err.code == "upstream_invalid_request" {
        if let Some(param) = upstream_param(body) {
            err = err.with_param(param);
        }
    }
    err
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(wire: WireUsage) -> Self {
        Usage {
            prompt_tokens: wire.prompt_tokens,
            cached_tokens: wire
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
            completion_tokens: wire.completion_tokens,
            reasoning_tokens: wire
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

impl Adapter for OpenAiCompatible {
    fn build_request(
        &self,
        request: &ChatRequest,
        ctx: &CallContext<'_>,
    ) -> Result<UpstreamRequest, GatewayError> {
        let mut body: RawMap = serde_json::from_slice(&request.raw).map_err(invalid_body)?;
        let model = serde_json::to_string(ctx.upstream_model).map_err(|err| {
            GatewayError::new("internal_error", "could not encode model").with_cause(err)
        })?;
        body.insert("model".to_owned(), raw(&model)?);
        if ctx.stream {
            let options = stream_options_with_usage(body.get("stream_options").map(AsRef::as_ref))?;
            body.insert("stream_options".to_owned(), options);
        }
        let body = serde_json::to_vec(&body).map_err(|err| {
            GatewayError::new("internal_error", "could not encode the body").with_cause(err)
        })?;

        let mut headers = http::HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {}", ctx.api_key)).map_err(|_| {
            GatewayError::new(
                "provider_auth_failed",
                format!(
                    "the {} API key configured for this platform is not a valid header value",
                    self.name()
                ),
            )
        })?;
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(UpstreamRequest {
            url: format!("{}/chat/completions", ctx.base_url),
            headers,
            body: Bytes::from(body),
        })
    }

    fn parse_response(
        &self,
        body: &[u8],
        _ctx: &CallContext<'_>,
    ) -> Result<Completion, GatewayError> {
        #[derive(Deserialize)]
        struct Answer {
            usage: Option<WireUsage>,
        }
        let answer: Answer = serde_json::from_slice(body).map_err(|err| {
            GatewayError::new(
                "upstream_error",
                format!(
                    "{} answered with a body that is not a chat completion: {err}",
                    self.name()
                ),
            )
        })?;
        Ok(Completion {
            body: Bytes::copy_from_slice(body),
            usage: answer.usage.map(Usage::from).unwrap_or_default(),
        })
    }

    fn parse_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> GatewayError {
        map_upstream_error(self.provider, status, headers, body)
    }

    fn stream_translator(&self, ctx: &CallContext<'_>) -> Box<dyn StreamTranslator> {
        Box::new(PassthroughStream {
            provider: self.provider,
            include_usage: ctx.include_usage,
            usage: None,
            streamed_chars: 0,
            done: false,
        })
    }
}

/// The parts of a chunk the gateway reads; everything else passes through unread.
#[derive(Deserialize)]
struct ChunkView<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceView<'a>>>,
    usage: Option<WireUsage>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(borrow)]
    delta: Option<DeltaView<'a>>,
}

#[derive(Deserialize)]
struct DeltaView<'a> {
    #[serde(borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    reasoning_content: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    refusal: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallView<'a> {
    #[serde(borrow)]
    function: Option<FunctionView<'a>>,
}

#[derive(Deserialize)]
struct FunctionView<'a> {
    #[serde(borrow)]
    arguments: Option<std::borrow::Cow<'a, str>>,
}

impl DeltaView<'_> {
    fn chars(&self) -> usize {
        let text = |value: &Option<std::borrow::Cow<'_, str>>| {
            value.as_ref().map_or(0, |s| s.chars().count())
        };
        let arguments: usize = self
            .tool_calls
            .iter()
            .flatten()
            .filter_map(|call| call.function.as_ref())
            .map(|function| text(&function.arguments))
            .sum();
        text(&self.content) + text(&self.reasoning_content) + text(&self.refusal) + arguments
    }
}

/// Relays `chat.completion.chunk` events unchanged and reads usage from them.
struct PassthroughStream {
    provider: Provider,
    include_usage: bool,
    usage: Option<Usage>,
    streamed_chars: usize,
    done: bool,
}

impl PassthroughStream {
    fn name(&self) -> &'static str {
        errors::provider_name(self.provider)
    }

    fn stream_error(&self, error: &RawValue) -> GatewayError {
        let event = serde_json::json!({ "error": serde_json::from_str::<serde_json::Value>(error.get()).unwrap_or_default() });
        errors::from_stream_error(self.provider, &event)
    }
}

impl StreamTranslator for PassthroughStream {
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<Bytes>) -> Result<Flow, GatewayError> {
        let data = event.data.as_str();
        if data.starts_with("[DONE]") {
            self.done = true;
            return Ok(Flow::Done);
        }
        let chunk: ChunkView<'_> = serde_json::from_str(data).map_err(|err| {
            GatewayError::new(
                "upstream_error",
                format!(
                    "{} sent a stream event that is not JSON: {err}",
                    self.name()
                ),
            )
        })?;
        if let Some(error) = chunk.error {
            return Err(self.stream_error(error));
        }
        let choices = chunk.choices.unwrap_or_default();
        self.streamed_chars += choices
            .iter()
            .filter_map(|choice| choice.delta.as_ref())
            .map(DeltaView::chars)
            .sum::<usize>();
        let is_usage_chunk = chunk.usage.is_some() && choices.is_empty();
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        if !is_usage_chunk || self.include_usage {
            out.push(Bytes::copy_from_slice(data.as_bytes()));
        }
        Ok(Flow::Continue)
    }

    fn on_end(&mut self, _out: &mut Vec<Bytes>) -> Result<(), GatewayError> {
        if self.done {
            Ok(())
        } else {
            Err(GatewayError::new(
                "upstream_error",
                format!("{} closed the stream before it finished", self.name()),
            ))
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn streamed_chars(&self) -> usize {
        self.streamed_chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(stream: bool, include_usage: bool) -> CallContext<'static> {
        CallContext {
            upstream_model: "gpt-4o-mini-2024-07-18",
            client_model: "openai/gpt-4o-mini",
            base_url: "http://127.0.0.1:9/v1",
            api_key: "sk-upstream",
            default_max_tokens: 4096,
            stream,
            include_usage,
            request_id: "req_1",
            created: 1,
        }
    }

    fn request(body: &str) -> ChatRequest {
        ChatRequest {
            raw: Bytes::from(body.to_owned()),
            json: serde_json::from_str(body).unwrap(),
        }
    }

    fn event(data: &str) -> sse::Event {
        sse::Event {
            data: data.to_owned(),
            ..sse::Event::default()
        }
    }

    #[test]
    fn request_rewrites_model_and_keeps_other_bytes() {
        let body = r#"{"model":"openai/gpt-4o-mini","x_custom":{"b": 1.50, "a":[1e2]},"messages":[{"role":"user","content":"hi"}]}"#;
        let built = OPENAI
            .build_request(&request(body), &ctx(false, false))
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&built.body).unwrap(),
            r#"{"model":"gpt-4o-mini-2024-07-18","x_custom":{"b": 1.50, "a":[1e2]},"messages":[{"role":"user","content":"hi"}]}"#
        );
        assert_eq!(built.url, "http://127.0.0.1:9/v1/chat/completions");
        assert_eq!(built.headers[AUTHORIZATION], "Bearer sk-upstream");
    }

    #[test]
    fn stream_request_asks_for_usage() {
        let body = r#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_obfuscation":false}}"#;
        let built = OPENAI
            .build_request(&request(body), &ctx(true, false))
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&built.body).unwrap(),
            r#"{"model":"gpt-4o-mini-2024-07-18","messages":[],"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true}}"#
        );
        let body = r#"{"model":"m","messages":[],"stream":true}"#;
        let built = OPENAI
            .build_request(&request(body), &ctx(true, false))
            .unwrap();
        assert!(std::str::from_utf8(&built.body)
            .unwrap()
            .ends_with(r#""stream":true,"stream_options":{"include_usage":true}}"#));
    }

    #[test]
    fn usage_chunk_dropped_unless_requested() {
        let usage = r#"{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}}}"#;
        for include in [false, true] {
            let mut stream = OPENAI.stream_translator(&ctx(true, include));
            let mut out = Vec::new();
            let delta =
                r#"{"id":"c","choices":[{"index":0,"delta":{"content":"héllo"}}],"usage":null}"#;
            stream.on_event(&event(delta), &mut out).unwrap();
            stream.on_event(&event(usage), &mut out).unwrap();
            assert_eq!(
                stream.on_event(&event("[DONE]"), &mut out).unwrap(),
                Flow::Done
            );
            stream.on_end(&mut out).unwrap();
            assert_eq!(out.len(), if include { 2 } else { 1 });
            assert_eq!(out[0], delta.as_bytes());
            assert_eq!(stream.streamed_chars(), 5);
            let got = stream.usage().unwrap();
            assert_eq!(
                (got.prompt_tokens, got.cached_tokens, got.completion_tokens),
                (3, 1, 2)
            );
        }
    }

    #[test]
    fn tool_call_arguments_counted() {
        let mut stream = OPENAI.stream_translator(&ctx(true, false));
        let mut out = Vec::new();
        let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}"#;
        stream.on_event(&event(chunk), &mut out).unwrap();
        assert_eq!(stream.streamed_chars(), 5);
    }

    #[test]
    fn stream_cut_before_done_is_an_error() {
        let mut stream = OPENAI.stream_translator(&ctx(true, false));
        let mut out = Vec::new();
        stream
            .on_event(&event(r#"{"choices":[]}"#), &mut out)
            .unwrap();
        assert_eq!(stream.on_end(&mut out).unwrap_err().code, "upstream_error");
    }

    #[test]
    fn error_event_in_stream() {
        let mut stream = OPENAI.stream_translator(&ctx(true, false));
        let err = stream
            .on_event(
                &event(r#"{"error":{"message":"overloaded","type":"server_error"}}"#),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(err.message.contains("overloaded"));
    }

    #[test]
    fn upstream_statuses_map_to_gateway_codes() {
        let headers = http::HeaderMap::new();
        let body = br#"{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":null}}"#;
        let err = OPENAI.parse_error(400, &headers, body);
        assert_eq!((err.code, err.status()), ("upstream_invalid_request", 400));
        assert_eq!(err.message, "bad temperature");
        assert_eq!(err.param.as_deref(), Some("temperature"));
        assert_eq!(OPENAI.parse_error(404, &headers, body).status(), 404);
        assert_eq!(
            OPENAI.parse_error(401, &headers, body).code,
            "provider_auth_failed"
        );
        assert_eq!(OPENAI.parse_error(403, &headers, b"").status(), 502);
        assert_eq!(
            OPENAI.parse_error(500, &headers, b"oops").code,
            "upstream_error"
        );
        // An overloaded provider stays a retryable 503, as for every provider.
        assert_eq!(OPENAI.parse_error(503, &headers, b"busy").status(), 503);
        let mut limited = http::HeaderMap::new();
        limited.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        let err = OPENAI.parse_error(429, &limited, body);
        assert_eq!((err.status(), err.retry_after), (429, Some(7)));
    }

    #[test]
    fn response_passes_through_with_usage() {
        let body = br#"{"id":"x","object":"chat.completion","usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"completion_tokens_details":{"reasoning_tokens":4}}}"#;
        let completion = OPENAI.parse_response(body, &ctx(false, false)).unwrap();
        assert_eq!(&completion.body[..], &body[..]);
        assert_eq!(completion.usage.completion_tokens, 12);
        assert_eq!(completion.usage.reasoning_tokens, 4);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// The parser and the passthrough translator relay the same chunks however the
        /// upstream bytes are cut, whatever the line ends.
        #[test]
        fn relayed_chunks_survive_any_chunking(
            texts in proptest::collection::vec("\\PC{0,12}", 1..6),
            eol in 0usize..3,
            cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..10),
        ) {
            let eol: &[u8] = [&b"\n"[..], b"\r\n", b"\r"][eol];
            let docs: Vec<String> = texts
                .iter()
                .map(|text| {
                    let delta = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]});
                    delta.to_string()
                })
                .collect();
            let mut wire = Vec::new();
            for doc in docs.iter().map(String::as_str).chain(["[DONE]"]) {
                wire.extend_from_slice(b"data: ");
                wire.extend_from_slice(doc.as_bytes());
                wire.extend_from_slice(eol);
                wire.extend_from_slice(eol);
            }
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.sort_unstable();

            let mut parser = sse::Parser::new();
            let mut stream = OPENAI.stream_translator(&ctx(true, false));
            let mut events = Vec::new();
            let mut out = Vec::new();
            let mut last = 0;
            let mut flow = Flow::Continue;
            for point in points.into_iter().chain([wire.len()]) {
                parser.feed(&wire[last..point], &mut events);
                last = point;
                for event in events.drain(..) {
                    flow = stream.on_event(&event, &mut out).unwrap();
                }
            }
            proptest::prop_assert_eq!(flow, Flow::Done);
            proptest::prop_assert!(stream.on_end(&mut out).is_ok());
            let relayed: Vec<&[u8]> = out.iter().map(|chunk| &chunk[..]).collect();
            let expected: Vec<&[u8]> = docs.iter().map(|doc| doc.as_bytes()).collect();
            proptest::prop_assert_eq!(relayed, expected);
            let chars: usize = texts.iter().map(|text| text.chars().count()).sum();
            proptest::prop_assert_eq!(stream.streamed_chars(), chars);
        }
    }
}
