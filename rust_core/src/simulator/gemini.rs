//! Google Gemini: `POST /v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent`.
//!
//! With `alt=sse` a stream is SSE with one `GenerateContentResponse` per
//! `data:` line and no end marker; without it, the same objects are streamed
//! as the elements of one JSON array. Every chunk carries the usage so far,
//! and the last chunk carries the `finishReason` and the final usage. JSON is
//! written the way the Gemini API writes it, with a space after each colon.
//! Thought parts are sent only when the request sets
//! `generationConfig.thinkingConfig.includeThoughts`, as Gemini does, but
//! `thoughtsTokenCount` always counts them. Function calls carry an `id` only
//! when the directive gives one.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::errors;
use super::script::{self, Finish, Prompt, Reply, Speaker, Usage};
use super::stream::{Event, Script};
use super::wire::Call;
use super::Invalid;

/// The parts of a generateContent request the simulator reads.
#[derive(Clone, Debug)]
pub struct GeminiRequest {
    /// The model named in the path.
    pub model: String,
    pub stream: bool,
    /// Whether the stream is SSE (`alt=sse`) rather than a JSON array.
    pub sse: bool,
    pub include_thoughts: bool,
    pub prompt: Prompt,
}

pub fn read(body: &Value, model: &str, stream: bool, sse: bool) -> Result<GeminiRequest, Invalid> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Invalid::new("* GenerateContentRequest.contents: contents is not specified")
        })?;
    for content in contents {
        let role = content.get("role").and_then(Value::as_str);
        if !matches!(role, None | Some("user" | "model")) {
            return Err(Invalid::new("Please use a valid role: user, model."));
        }
    }
    let turns = script::client_turns(contents.iter(), |content| {
        match content.get("role").and_then(Value::as_str) {
            Some("model") => Speaker::Model,
            _ => Speaker::Client,
        }
    });
    let mut prompt_tokens: u64 = contents.iter().map(script::message_tokens).sum();
    if let Some(system) = body.get("systemInstruction").filter(|s| !s.is_null()) {
        prompt_tokens += script::message_tokens(system);
    }
    let config = body.get("generationConfig");
    let include_thoughts = config
        .and_then(|c| c.get("thinkingConfig"))
        .and_then(|t| t.get("includeThoughts"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(GeminiRequest {
        model: model.to_owned(),
        stream,
        sse,
        include_thoughts,
        prompt: Prompt {
            turn: turns.last,
            earlier: turns.earlier,
            prompt_tokens,
            max_tokens: config.and_then(|c| super::wire::u64_field(c, "maxOutputTokens")),
        },
    })
}

fn finish_reason(finish: &Finish) -> &str {
    match finish {
        Finish::Stop | Finish::ToolCalls => "STOP",
        Finish::Length => "MAX_TOKENS",
        Finish::Native(value) => value,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageJson {
    prompt_token_count: u64,
    candidates_token_count: u64,
    total_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content_token_count: Option<u64>,
    prompt_tokens_details: [ModalityCount; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    thoughts_token_count: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModalityCount {
    modality: &'static str,
    token_count: u64,
}

/// Build the usage with `candidates` visible and `thoughts` reasoning tokens generated so far.
fn usage_json(usage: &Usage, candidates: u64, thoughts: u64) -> UsageJson {
    UsageJson {
        prompt_token_count: usage.prompt,
        candidates_token_count: candidates,
        total_token_count: usage.prompt + candidates + thoughts,
        cached_content_token_count: (usage.cached > 0).then_some(usage.cached),
        prompt_tokens_details: [ModalityCount {
            modality: "TEXT",
            token_count: usage.prompt,
        }],
        thoughts_token_count: (thoughts > 0).then_some(thoughts),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionCall<'a> {
    name: &'a str,
    args: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_call: Option<FunctionCall<'a>>,
}

impl<'a> Part<'a> {
    fn text(text: &'a str) -> Self {
        Part {
            text: Some(text),
            thought: None,
            function_call: None,
        }
    }

    fn thought(text: &'a str) -> Self {
        Part {
            thought: Some(true),
            ..Part::text(text)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content<'a> {
    parts: Vec<Part<'a>>,
    role: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
    index: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    candidates: [Candidate<'a>; 1],
    usage_metadata: UsageJson,
    model_version: &'a str,
    response_id: &'a str,
}

/// Writes JSON as the Gemini API does: `"key": value`, with no other spaces.
struct GoogleFormatter;

impl serde_json::ser::Formatter for GoogleFormatter {
    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

fn to_google_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoogleFormatter);
    match value.serialize(&mut serializer) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Collect the arguments of each tool call as a JSON object.
fn tool_args(reply: &Reply) -> Vec<Box<RawValue>> {
    reply
        .tool_calls
        .iter()
        .map(|tool| {
            RawValue::from_string(tool.arguments_object().to_owned())
                .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).unwrap_or_default())
        })
        .collect()
}

fn function_parts<'a>(reply: &'a Reply, args: &'a [Box<RawValue>]) -> Vec<Part<'a>> {
    reply
        .tool_calls
        .iter()
        .zip(args)
        .map(|(tool, args)| Part {
            text: None,
            thought: None,
            function_call: Some(FunctionCall {
                name: &tool.name,
                args,
                id: tool.id.as_deref(),
            }),
        })
        .collect()
}

fn response<'a>(
    request: &'a GeminiRequest,
    call: &'a Call<'a>,
    parts: Vec<Part<'a>>,
    finish: Option<&'a str>,
    usage: UsageJson,
) -> Response<'a> {
    Response {
        candidates: [Candidate {
            content: Content {
                parts,
                role: "model",
            },
            finish_reason: finish,
            index: 0,
        }],
        usage_metadata: usage,
        model_version: &request.model,
        response_id: call.serial,
    }
}

/// Render the `GenerateContentResponse` of a non-streamed call.
pub fn render(request: &GeminiRequest, reply: &Reply, call: &Call<'_>) -> Bytes {
    let reasoning = reply.reasoning();
    let text = reply.text();
    let args = tool_args(reply);
    let mut parts = Vec::new();
    if request.include_thoughts && !reply.reasoning.is_empty() {
        parts.push(Part::thought(&reasoning));
    }
    if !reply.text.is_empty() || reply.tool_calls.is_empty() {
        parts.push(Part::text(&text));
    }
    parts.extend(function_parts(reply, &args));
    let usage = usage_json(
        &reply.usage,
        reply.usage.visible_completion(),
        reply.usage.reasoning,
    );
    let body = response(
        request,
        call,
        parts,
        Some(finish_reason(&reply.finish)),
        usage,
    );
    Bytes::from(to_google_json(&body))
}

/// Frames chunks as SSE events or as elements of one JSON array.
struct Chunks<'a> {
    request: &'a GeminiRequest,
    call: &'a Call<'a>,
    events: Vec<Event>,
}

impl Chunks<'_> {
    fn push(&mut self, json: Vec<u8>, tokens: u32) {
        let bytes = if self.request.sse {
            self.call.frame(None, &json)
        } else {
            let mut out = BytesMut::with_capacity(json.len() + 4);
            out.put_slice(if self.events.is_empty() {
                b"["
            } else {
                b",\r\n"
            });
            out.put_slice(&json);
            out.freeze()
        };
        self.events.push(Event::new(bytes, tokens));
    }

    /// Close the JSON array after the last element.
    fn finish(&mut self) {
        if !self.request.sse {
            if let Some(last) = self.events.last_mut() {
                let mut closed = BytesMut::from(&last.bytes[..]);
                closed.put_slice(b"]");
                last.bytes = closed.freeze();
            }
        }
    }
}

/// One streamed piece before it is written: its parts and its tokens.
enum Piece<'a> {
    Thought(&'a str),
    Text(&'a str),
    Calls,
}

/// Render the events of a streamed call.
pub fn stream(request: &GeminiRequest, reply: &Reply, call: &Call<'_>) -> Script {
    let args = tool_args(reply);
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    if request.include_thoughts {
        pieces.extend(reply.reasoning.iter().map(|p| Piece::Thought(p)));
    }
    pieces.extend(reply.text.iter().map(|p| Piece::Text(p)));
    if !reply.tool_calls.is_empty() {
        pieces.push(Piece::Calls);
    }
    if pieces.is_empty() {
        pieces.push(Piece::Text(""));
    }

    let mut chunks = Chunks {
        request,
        call,
        events: Vec::new(),
    };
    // Thinking happens before the first visible token, so hidden thoughts count at once.
    let mut thoughts = if request.include_thoughts {
        0
    } else {
        reply.reasoning.len() as u64
    };
    let mut candidates = 0;
    let last = pieces.len() - 1;
    for (position, piece) in pieces.into_iter().enumerate() {
        let (parts, tokens) = match piece {
            Piece::Thought(text) => {
                thoughts += 1;
                (vec![Part::thought(text)], 1)
            }
            Piece::Text(text) => {
                candidates += u64::from(!text.is_empty());
                (vec![Part::text(text)], u32::from(!text.is_empty()))
            }
            Piece::Calls => {
                let count: usize = reply.tool_calls.iter().map(|t| t.pieces.len()).sum();
                candidates += count as u64;
                (function_parts(reply, &args), count as u32)
            }
        };
        let (finish, usage) = if position == last {
            let usage = usage_json(
                &reply.usage,
                reply.usage.visible_completion(),
                reply.usage.reasoning,
            );
            (Some(finish_reason(&reply.finish)), usage)
        } else {
            (None, usage_json(&reply.usage, candidates, thoughts))
        };
        let json = to_google_json(&response(request, call, parts, finish, usage));
        chunks.push(json, tokens);
    }
    chunks.finish();

    let code = reply
        .error
        .status
        .as_deref()
        .and_then(errors::gemini_code)
        .unwrap_or(500);
    let error = to_google_json(&errors::gemini(code, &reply.error));
    let (malformed, error) = if request.sse {
        (
            call.frame(None, br#"{"candidates": [{"content": {"parts": [{"text": "#),
            call.frame(None, &error),
        )
    } else {
        let mut framed = b",\r\n".to_vec();
        framed.extend_from_slice(&error);
        framed.push(b']');
        (
            Bytes::from_static(b",\r\n{\"candidates\": [{\"content\": "),
            Bytes::from(framed),
        )
    };
    Script {
        events: chunks.events,
        malformed,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::script::{build_reply, turn_directive};
    use crate::simulator::stream::replay;
    use crate::simulator::wire::test_call;
    use crate::translate::Provider;
    use serde_json::json;

    fn call_with(user: &str, extra: Value, stream: bool, sse: bool) -> (GeminiRequest, Reply) {
        let mut body = json!({"contents": [{"role": "user", "parts": [{"text": user}]}],
            "systemInstruction": {"parts": [{"text": "abcd"}]}});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let request = read(&body, "gemini-test", stream, sse).unwrap();
        let directive = turn_directive(&request.prompt.turn)
            .unwrap()
            .unwrap_or_default();
        let reply = build_reply(&request.prompt, &directive);
        (request, reply)
    }

    fn thoughts() -> Value {
        json!({"generationConfig": {"thinkingConfig": {"includeThoughts": true}, "maxOutputTokens": 100}})
    }

    #[test]
    fn roles_checked() {
        let bad = json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]});
        assert!(read(&bad, "m", false, false).is_err());
        assert!(read(&json!({}), "m", false, false).is_err());
    }

    #[test]
    fn non_stream_shape_with_google_spacing() {
        let (request, reply) = call_with(
            r#"#sim {"text": "Hi", "usage": {"cached": 2}}"#,
            json!({}),
            false,
            false,
        );
        let bytes = render(&request, &reply, &test_call(Provider::Google));
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with(
                r#"{"candidates": [{"content": {"parts": [{"text": "Hi"}],"role": "model"}"#
            ),
            "{text}"
        );
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["candidates"][0]["finishReason"], "STOP");
        assert_eq!(body["candidates"][0]["index"], 0);
        assert_eq!(body["modelVersion"], "gemini-test");
        assert_eq!(body["responseId"], "sim0001");
        let usage = &body["usageMetadata"];
        assert_eq!(usage["candidatesTokenCount"], 1);
        assert_eq!(usage["cachedContentTokenCount"], 2);
        assert_eq!(
            usage["totalTokenCount"],
            usage["promptTokenCount"].as_u64().unwrap() + 1
        );
        assert!(usage.get("thoughtsTokenCount").is_none());
    }

    #[test]
    fn thoughts_shown_only_when_requested() {
        let directive = r#"#sim {"reasoning": "deep thought", "text": "42"}"#;
        let (request, reply) = call_with(directive, thoughts(), false, false);
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Google)))
                .unwrap();
        let parts = &body["candidates"][0]["content"]["parts"];
        assert_eq!(parts[0], json!({"text": "deep thought", "thought": true}));
        assert_eq!(parts[1], json!({"text": "42"}));
        assert_eq!(body["usageMetadata"]["thoughtsTokenCount"], 2);
        assert_eq!(body["usageMetadata"]["candidatesTokenCount"], 1);

        let (request, reply) = call_with(directive, json!({}), false, false);
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Google)))
                .unwrap();
        assert_eq!(
            body["candidates"][0]["content"]["parts"],
            json!([{"text": "42"}])
        );
        assert_eq!(body["usageMetadata"]["thoughtsTokenCount"], 2);
    }

    #[test]
    fn function_calls_are_objects() {
        let (request, reply) = call_with(
            r#"#sim {"tool_calls": [{"name": "f", "arguments": {"a": 1}}, {"name": "g", "id": "fc-7"}]}"#,
            json!({}),
            false,
            false,
        );
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Google)))
                .unwrap();
        let parts = &body["candidates"][0]["content"]["parts"];
        assert_eq!(
            parts[0],
            json!({"functionCall": {"name": "f", "args": {"a": 1}}})
        );
        assert_eq!(
            parts[1],
            json!({"functionCall": {"name": "g", "args": {}, "id": "fc-7"}})
        );
        assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    }

    #[test]
    fn sse_stream_usage_is_cumulative_and_final_last() {
        let (request, reply) = call_with(
            r#"#sim {"text": "a b c", "reasoning": "r s"}"#,
            thoughts(),
            true,
            true,
        );
        let script = stream(&request, &reply, &test_call(Provider::Google));
        let events = replay(&script);
        assert_eq!(events.len(), 5);
        let chunks: Vec<Value> = events
            .iter()
            .map(|e| serde_json::from_str(&e.data).unwrap())
            .collect();
        let thoughts: Vec<u64> = chunks
            .iter()
            .map(|c| c["usageMetadata"]["thoughtsTokenCount"].as_u64().unwrap())
            .collect();
        assert_eq!(thoughts, vec![1, 2, 2, 2, 2]);
        let candidates: Vec<u64> = chunks
            .iter()
            .map(|c| c["usageMetadata"]["candidatesTokenCount"].as_u64().unwrap())
            .collect();
        assert_eq!(candidates, vec![0, 0, 1, 2, 3]);
        for chunk in &chunks[..4] {
            assert!(chunk["candidates"][0].get("finishReason").is_none());
        }
        assert_eq!(chunks[4]["candidates"][0]["finishReason"], "STOP");
        let text: String = chunks[2..]
            .iter()
            .map(|c| {
                c["candidates"][0]["content"]["parts"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "a b c");
        assert!(events.iter().all(|e| e.event.is_none()));
    }

    #[test]
    fn json_array_stream_is_one_array() {
        let (request, reply) = call_with(r#"#sim {"text": "x y"}"#, json!({}), true, false);
        let script = stream(&request, &reply, &test_call(Provider::Google));
        let bytes: Vec<u8> = script
            .events
            .iter()
            .flat_map(|e| e.bytes.iter().copied())
            .collect();
        let array: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(array.as_array().unwrap().len(), 2);
        assert_eq!(array[1]["candidates"][0]["finishReason"], "STOP");
    }

    #[test]
    fn max_tokens_finish() {
        let (request, reply) = call_with(
            r#"#sim {"text": "a b c"}"#,
            json!({"generationConfig": {"maxOutputTokens": 2}}),
            false,
            false,
        );
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Google)))
                .unwrap();
        assert_eq!(body["candidates"][0]["finishReason"], "MAX_TOKENS");
        assert_eq!(body["candidates"][0]["content"]["parts"][0]["text"], "a b");
    }

    #[test]
    fn in_stream_error_uses_status_name() {
        let (request, reply) = call_with(
            r#"#sim {"error": {"status": "RESOURCE_EXHAUSTED"}}"#,
            json!({}),
            true,
            true,
        );
        let script = stream(&request, &reply, &test_call(Provider::Google));
        let error = replay(&Script {
            events: vec![Event::new(script.error, 0)],
            ..Script::default()
        });
        let data: Value = serde_json::from_str(&error[0].data).unwrap();
        assert_eq!(data["error"]["code"], 429);
        assert_eq!(data["error"]["status"], "RESOURCE_EXHAUSTED");
    }
}
