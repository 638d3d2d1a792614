//! OpenAI chat completions, also spoken by xAI: `POST /v1/chat/completions`.
//!
//! Reasoning from the directive comes back as `reasoning_content`, as xAI and
//! other OpenAI-compatible providers send it. Streams end with `data: [DONE]`;
//! with `stream_options.include_usage` every chunk carries `"usage":null` and
//! one extra chunk with empty `choices` carries the usage before `[DONE]`.
//! OpenAI's own streams also carry an `obfuscation` padding field unless the
//! request sets `stream_options.include_obfuscation` to false; xAI's do not.
//! Only one choice is generated whatever `n` says.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::errors;
use super::script::{self, Finish, Prompt, Reply, Speaker, Usage};
use super::stream::{Event, Script};
use super::wire::{self, Call};
use super::Invalid;
use crate::translate::Provider;

const FINGERPRINT: &str = "fp_simulator";
const DONE: &[u8] = b"[DONE]";

/// What the simulator reads from a chat request.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    pub obfuscation: bool,
    pub prompt: Prompt,
}

pub fn read(body: &Value) -> Result<ChatRequest, Invalid> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid::param("you must provide a model parameter", "model"))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| Invalid::param("Missing required parameter: 'messages'.", "messages"))?;
    if messages.is_empty() {
        return Err(Invalid::param(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "messages",
        ));
    }
    let turns = script::client_turns(messages.iter(), |message| {
        match message.get("role").and_then(Value::as_str) {
            Some("assistant") => Speaker::Model,
            Some("system" | "developer") => Speaker::System,
            _ => Speaker::Client,
        }
    });
    let options = body.get("stream_options");
    let option = |name: &str| options.and_then(|o| o.get(name)).and_then(Value::as_bool);
    Ok(ChatRequest {
        model: model.to_owned(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: option("include_usage").unwrap_or(false),
        obfuscation: option("include_obfuscation").unwrap_or(true),
        prompt: Prompt {
            turn: turns.last,
            earlier: turns.earlier,
            prompt_tokens: messages.iter().map(script::message_tokens).sum(),
            max_tokens: wire::u64_field(body, "max_completion_tokens")
                .or_else(|| wire::u64_field(body, "max_tokens")),
        },
    })
}

fn finish_reason(finish: &Finish) -> &str {
    match finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
        Finish::Native(value) => value,
    }
}

#[derive(Serialize)]
struct UsageJson {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

fn usage_json(usage: &Usage) -> UsageJson {
    UsageJson {
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.total(),
        prompt_tokens_details: PromptDetails {
            cached_tokens: usage.cached,
            audio_tokens: 0,
        },
        completion_tokens_details: CompletionDetails {
            reasoning_tokens: usage.reasoning,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
        },
    }
}

#[derive(Serialize)]
struct Function<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

#[derive(Serialize)]
struct ToolCallJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: Function<'a>,
}

fn tool_call_id(call: &Call<'_>, reply: &Reply, index: usize) -> String {
    match &reply.tool_calls[index].id {
        Some(id) => id.clone(),
        None => call.stable_id("call_", index),
    }
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<String>,
    refusal: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallJson<'a>>,
    annotations: [(); 0],
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    logprobs: Option<()>,
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: UsageJson,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

/// Render the `chat.completion` body.
pub fn render(request: &ChatRequest, reply: &Reply, call: &Call<'_>) -> Bytes {
    let tool_calls: Vec<ToolCallJson<'_>> = reply
        .tool_calls
        .iter()
        .enumerate()
        .map(|(index, tool)| ToolCallJson {
            index: None,
            id: Some(tool_call_id(call, reply, index)),
            kind: Some("function"),
            function: Function {
                name: Some(&tool.name),
                arguments: &tool.arguments,
            },
        })
        .collect();
    let text = reply.text();
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    let reasoning = (!reply.reasoning.is_empty()).then(|| reply.reasoning());
    let completion = Completion {
        id: format!("chatcmpl-{}", call.serial),
        object: "chat.completion",
        created: call.created,
        model: &request.model,
        choices: [Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content,
                reasoning_content: reasoning,
                refusal: None,
                tool_calls,
                annotations: [],
            },
            logprobs: None,
            finish_reason: finish_reason(&reply.finish),
        }],
        usage: usage_json(&reply.usage),
        service_tier: "default",
        system_fingerprint: FINGERPRINT,
    };
    Bytes::from(wire::to_json(&completion))
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallJson<'a>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    service_tier: &'static str,
    system_fingerprint: &'static str,
    choices: Vec<ChunkChoice<'a>>,
    /// Absent without `include_usage`; null on every chunk but the usage chunk with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<UsageJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    obfuscation: Option<&'static str>,
}

/// Writes the chunks of one stream.
struct Chunks<'a> {
    request: &'a ChatRequest,
    call: &'a Call<'a>,
    id: String,
    obfuscate: bool,
    events: Vec<Event>,
}

impl<'a> Chunks<'a> {
    fn push(&mut self, choice: Option<ChunkChoice<'_>>, usage: Option<UsageJson>, tokens: u32) {
        let is_usage_chunk = usage.is_some();
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.call.created,
            model: &self.request.model,
            service_tier: "default",
            system_fingerprint: FINGERPRINT,
            choices: choice.into_iter().collect(),
            usage: (self.request.include_usage || is_usage_chunk).then_some(usage),
            obfuscation: self.obfuscate.then(|| obfuscation(self.events.len())),
        };
        let frame = self.call.json_frame(None, &chunk);
        self.events.push(Event::new(frame, tokens));
    }

    fn delta(&mut self, delta: Delta<'_>, tokens: u32) {
        let choice = ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: None,
        };
        self.push(Some(choice), None, tokens);
    }
}

/// Pick a deterministic stand-in for OpenAI's random padding.
fn obfuscation(index: usize) -> &'static str {
    const PAD: &str = "q8ZkW3xTnB7vR2mLpY5sHd";
    &PAD[..1 + index % (PAD.len() - 1)]
}

/// Render the SSE events of a streamed completion.
pub fn stream(request: &ChatRequest, reply: &Reply, call: &Call<'_>) -> Script {
    let mut chunks = Chunks {
        request,
        call,
        id: format!("chatcmpl-{}", call.serial),
        obfuscate: request.obfuscation && call.provider == Provider::Openai,
        events: Vec::new(),
    };
    let tools_only = reply.text.is_empty() && !reply.tool_calls.is_empty();
    chunks.delta(
        Delta {
            role: Some("assistant"),
            content: Some(if tools_only { None } else { Some("") }),
            refusal: Some(None),
            ..Delta::default()
        },
        0,
    );
    for piece in &reply.reasoning {
        let delta = Delta {
            reasoning_content: Some(piece),
            ..Delta::default()
        };
        chunks.delta(delta, 1);
    }
    for piece in &reply.text {
        let delta = Delta {
            content: Some(Some(piece)),
            ..Delta::default()
        };
        chunks.delta(delta, 1);
    }
    for (index, tool) in reply.tool_calls.iter().enumerate() {
        let start = ToolCallJson {
            index: Some(index),
            id: Some(tool_call_id(call, reply, index)),
            kind: Some("function"),
            function: Function {
                name: Some(&tool.name),
                arguments: "",
            },
        };
        let delta = Delta {
            tool_calls: vec![start],
            ..Delta::default()
        };
        chunks.delta(delta, 0);
        for piece in &tool.pieces {
            let fragment = ToolCallJson {
                index: Some(index),
                id: None,
                kind: None,
                function: Function {
                    name: None,
                    arguments: piece,
                },
            };
            let delta = Delta {
                tool_calls: vec![fragment],
                ..Delta::default()
            };
            chunks.delta(delta, 1);
        }
    }
    let last = ChunkChoice {
        index: 0,
        delta: Delta::default(),
        logprobs: None,
        finish_reason: Some(finish_reason(&reply.finish)),
    };
    chunks.push(Some(last), None, 0);
    if request.include_usage {
        chunks.push(None, Some(usage_json(&reply.usage)), 0);
    }
    let mut events = chunks.events;
    events.push(Event::new(call.frame(None, DONE), 0));
    Script {
        events,
        malformed: call.frame(
            None,
            br#"{"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"#,
        ),
        error: call.json_frame(None, &errors::openai(500, &reply.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::script::{build_reply, turn_directive, Eol};
    use crate::sse;
    use serde_json::json;

    fn call(provider: Provider) -> Call<'static> {
        Call {
            provider,
            serial: "abc",
            created: 1_700_000_000,
            eol: Eol::Lf,
            body_digest: 5,
            error_after: 0,
        }
    }

    fn request(body: Value) -> (ChatRequest, Reply) {
        let request = read(&body).unwrap();
        let directive = turn_directive(&request.prompt.turn)
            .unwrap()
            .unwrap_or_default();
        let reply = build_reply(&request.prompt, &directive);
        (request, reply)
    }

    fn user(text: &str) -> Value {
        json!({"model": "gpt-test", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]})
    }

    fn events(script: &Script) -> Vec<sse::Event> {
        let mut parser = sse::Parser::new();
        let mut out = Vec::new();
        for event in &script.events {
            parser.feed(&event.bytes, &mut out);
        }
        parser.finish();
        out
    }

    #[test]
    fn reads_prompt_tokens_and_limits() {
        let mut body = user("abcdefgh");
        body["max_tokens"] = json!(5);
        let request = read(&body).unwrap();
        // "Be brief." is 9 bytes: 3 + 3; "abcdefgh" is 8 bytes: 3 + 2.
        assert_eq!(request.prompt.prompt_tokens, 11);
        assert_eq!(request.prompt.max_tokens, Some(5));
        assert_eq!(request.prompt.turn, vec!["abcdefgh"]);
        assert!(!request.stream);
    }

    #[test]
    fn missing_messages_rejected() {
        let err = read(&json!({"model": "m"})).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("messages"));
    }

    #[test]
    fn non_stream_completion_shape() {
        let (request, reply) = request(user("#sim {\"text\": \"Hello there\"}"));
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &call(Provider::Openai))).unwrap();
        assert_eq!(body["id"], "chatcmpl-abc");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["created"], 1_700_000_000);
        assert_eq!(body["model"], "gpt-test");
        let choice = &body["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(choice["message"]["content"], "Hello there");
        assert_eq!(choice["message"]["refusal"], Value::Null);
        assert!(choice["message"].get("tool_calls").is_none());
        assert_eq!(choice["finish_reason"], "stop");
        assert_eq!(body["usage"]["completion_tokens"], 2);
        assert_eq!(
            body["usage"]["total_tokens"],
            body["usage"]["prompt_tokens"].as_u64().unwrap() + 2
        );
        assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    }

    #[test]
    fn non_stream_tool_calls() {
        let (request, reply) = request(user(
            r#"#sim {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "id": "call_fixed"}]}"#,
        ));
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &call(Provider::Openai))).unwrap();
        let message = &body["choices"][0]["message"];
        assert_eq!(message["content"], Value::Null);
        let calls = message["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0]["type"], "function");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        assert_eq!(calls[0]["function"]["arguments"], r#"{"city": "Paris"}"#);
        assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(calls[1]["id"], "call_fixed");
        assert_eq!(calls[1]["function"]["arguments"], "{}");
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn stream_reassembles_text_and_ends_with_done() {
        let (request, reply) = request(user("hello"));
        let script = stream(&request, &reply, &call(Provider::Xai));
        let events = events(&script);
        assert_eq!(events.last().unwrap().data, "[DONE]");
        let mut text = String::new();
        for event in &events[..events.len() - 1] {
            assert_eq!(event.event, None);
            let chunk: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(chunk["id"], "chatcmpl-abc");
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert!(chunk.get("usage").is_none());
            assert!(chunk.get("obfuscation").is_none());
            if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
                text.push_str(piece);
            }
        }
        assert_eq!(text, reply.text());
        let first: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        let last: Value = serde_json::from_str(&events[events.len() - 2].data).unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert_eq!(last["choices"][0]["delta"], json!({}));
    }

    #[test]
    fn stream_usage_chunk_with_include_usage() {
        let mut body = user("#sim {\"text\": \"a b c\", \"usage\": {\"cached\": 4}}");
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let (request, reply) = request(body);
        let events = events(&stream(&request, &reply, &call(Provider::Openai)));
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(&e.data).unwrap())
            .collect();
        for chunk in &chunks[..chunks.len() - 1] {
            assert_eq!(chunk["usage"], Value::Null);
            assert!(chunk["obfuscation"].is_string());
        }
        let usage_chunk = chunks.last().unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["usage"]["completion_tokens"], 3);
        assert_eq!(
            usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"],
            4
        );
    }

    #[test]
    fn stream_tool_call_deltas() {
        let (request, reply) = request(user(
            r#"#sim {"text": "Checking.", "tool_calls": [{"name": "a", "arguments": {"x": 1234567890}}, {"name": "b"}]}"#,
        ));
        let events = events(&stream(&request, &reply, &call(Provider::Openai)));
        let mut arguments = [String::new(), String::new()];
        let mut names = Vec::new();
        for event in &events[..events.len() - 1] {
            let chunk: Value = serde_json::from_str(&event.data).unwrap();
            let Some(calls) = chunk["choices"][0]["delta"]["tool_calls"].as_array() else {
                continue;
            };
            assert_eq!(calls.len(), 1);
            let index = calls[0]["index"].as_u64().unwrap() as usize;
            if let Some(name) = calls[0]["function"]["name"].as_str() {
                names.push(name.to_owned());
                assert_eq!(calls[0]["type"], "function");
                assert!(calls[0]["id"].is_string());
            } else {
                assert!(calls[0].get("id").is_none());
            }
            arguments[index].push_str(calls[0]["function"]["arguments"].as_str().unwrap());
        }
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(arguments[0], r#"{"x": 1234567890}"#);
        assert_eq!(arguments[1], "{}");
        let last: Value = serde_json::from_str(&events[events.len() - 2].data).unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn reasoning_content_streamed_and_counted() {
        let (request, reply) = request(user(r#"#sim {"reasoning": "think hard", "text": "ok"}"#));
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &call(Provider::Xai))).unwrap();
        assert_eq!(
            body["choices"][0]["message"]["reasoning_content"],
            "think hard"
        );
        assert_eq!(
            body["usage"]["completion_tokens_details"]["reasoning_tokens"],
            2
        );
        assert_eq!(body["usage"]["completion_tokens"], 3);
        let events = events(&stream(&request, &reply, &call(Provider::Xai)));
        let reasoning: String = events[..events.len() - 1]
            .iter()
            .filter_map(|e| {
                let chunk: Value = serde_json::from_str(&e.data).unwrap();
                chunk["choices"][0]["delta"]["reasoning_content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(reasoning, "think hard");
    }
}
