//! Anthropic Messages: `POST /v1/messages`.
//!
//! Requests are checked as Anthropic checks them: the `anthropic-version`
//! header, `model`, `max_tokens` and `messages` are required, and message
//! roles must be `user` or `assistant` (a system prompt belongs in `system`).
//! Content comes back as blocks in the order thinking, text, tool use. In a
//! stream, `message_start` carries the input usage, one `ping` follows the
//! first block's start, and `message_delta` carries the final, cumulative
//! usage before `message_stop`. `input_tokens` counts only uncached input:
//! it is the prompt minus cache reads and cache writes.

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::errors;
use super::script::{self, Finish, Prompt, Reply, Speaker, Usage};
use super::stream::{Event, Script};
use super::wire::{self, Call};
use super::Invalid;

/// The header every Messages request must carry.
pub const VERSION_HEADER: &str = "anthropic-version";

/// The parts of a Messages request the simulator reads.
#[derive(Clone, Debug)]
pub struct MessagesRequest {
    pub model: String,
    pub stream: bool,
    pub prompt: Prompt,
}

pub fn read(body: &Value) -> Result<MessagesRequest, Invalid> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid::new("model: Field required"))?;
    let max_tokens = body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .ok_or_else(|| Invalid::new("max_tokens: Field required"))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| Invalid::new("messages: Field required"))?;
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if !matches!(role, Some("user" | "assistant")) {
            return Err(Invalid::new(format!(
                "messages.{index}.role: Input should be 'user' or 'assistant'"
            )));
        }
    }
    let turns = script::client_turns(messages.iter(), |message| {
        match message.get("role").and_then(Value::as_str) {
            Some("assistant") => Speaker::Model,
            _ => Speaker::Client,
        }
    });
    let mut prompt_tokens: u64 = messages.iter().map(script::message_tokens).sum();
    if let Some(system) = body.get("system").filter(|s| !s.is_null()) {
        prompt_tokens += script::message_tokens(system);
    }
    Ok(MessagesRequest {
        model: model.to_owned(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        prompt: Prompt {
            turn: turns.last,
            earlier: turns.earlier,
            prompt_tokens,
            max_tokens: Some(max_tokens),
        },
    })
}

fn stop_reason(finish: &Finish) -> &str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
        Finish::Native(value) => value,
    }
}

#[derive(Serialize)]
struct UsageJson {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_tier: Option<&'static str>,
}

fn usage_json(usage: &Usage, output_tokens: u64, service_tier: bool) -> UsageJson {
    UsageJson {
        input_tokens: usage.uncached_prompt(),
        cache_creation_input_tokens: usage.cache_write,
        cache_read_input_tokens: usage.cached,
        output_tokens,
        service_tier: service_tier.then_some("standard"),
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: String,
        name: &'a str,
        input: &'a RawValue,
    },
}

#[derive(Serialize)]
struct Message<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<Block<'a>>,
    stop_reason: Option<&'a str>,
    stop_sequence: Option<()>,
    usage: UsageJson,
}

fn tool_use_id(call: &Call<'_>, reply: &Reply, index: usize) -> String {
    match &reply.tool_calls[index].id {
        Some(id) => id.clone(),
        None => call.stable_id("toolu_", index),
    }
}

/// Mint a stand-in for the opaque signature of a thinking block, stable for one request body.
fn signature(call: &Call<'_>) -> String {
    call.stable_id("sig_", 0)
}

/// Tell whether the reply has a text block: always, unless it has other blocks and no text.
fn has_text(reply: &Reply) -> bool {
    !reply.text.is_empty() || (reply.tool_calls.is_empty() && reply.reasoning.is_empty())
}

fn tool_input(arguments: &str) -> Box<RawValue> {
    RawValue::from_string(arguments.to_owned())
        .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).unwrap_or_default())
}

/// Render the `message` body of a non-streamed call.
pub fn render(request: &MessagesRequest, reply: &Reply, call: &Call<'_>) -> Bytes {
    let thinking = reply.reasoning();
    let text = reply.text();
    let signature = signature(call);
    let inputs: Vec<Box<RawValue>> = reply
        .tool_calls
        .iter()
        .map(|tool| tool_input(tool.arguments_object()))
        .collect();
    let mut content = Vec::new();
    if !reply.reasoning.is_empty() {
        content.push(Block::Thinking {
            thinking: &thinking,
            signature: &signature,
        });
    }
    if has_text(reply) {
        content.push(Block::Text { text: &text });
    }
    for (index, tool) in reply.tool_calls.iter().enumerate() {
        content.push(Block::ToolUse {
            id: tool_use_id(call, reply, index),
            name: &tool.name,
            input: &inputs[index],
        });
    }
    let message = Message {
        id: format!("msg_{}", call.serial),
        kind: "message",
        role: "assistant",
        model: &request.model,
        content,
        stop_reason: Some(stop_reason(&reply.finish)),
        stop_sequence: None,
        usage: usage_json(&reply.usage, reply.usage.completion, true),
    };
    Bytes::from(wire::to_json(&message))
}

/// Writes the events of one stream.
struct Events<'a> {
    call: &'a Call<'a>,
    events: Vec<Event>,
    /// Index of the next content block.
    block: usize,
    pinged: bool,
}

impl Events<'_> {
    fn push(&mut self, name: &str, data: Value, tokens: u32) {
        let frame = self.call.json_frame(Some(name), &data);
        self.events.push(Event::new(frame, tokens));
    }

    fn start_block(&mut self, content_block: Value) -> usize {
        let index = self.block;
        self.block += 1;
        let data = serde_json::json!({"type": "content_block_start", "index": index,
            "content_block": content_block});
        self.push("content_block_start", data, 0);
        if !self.pinged {
            self.pinged = true;
            self.push("ping", serde_json::json!({"type": "ping"}), 0);
        }
        index
    }

    fn delta(&mut self, index: usize, delta: Value, tokens: u32) {
        let data =
            serde_json::json!({"type": "content_block_delta", "index": index, "delta": delta});
        self.push("content_block_delta", data, tokens);
    }

    fn stop_block(&mut self, index: usize) {
        let data = serde_json::json!({"type": "content_block_stop", "index": index});
        self.push("content_block_stop", data, 0);
    }
}

/// Render the SSE events of a streamed call.
pub fn stream(request: &MessagesRequest, reply: &Reply, call: &Call<'_>) -> Script {
    let mut events = Events {
        call,
        events: Vec::new(),
        block: 0,
        pinged: false,
    };
    let start = Message {
        id: format!("msg_{}", call.serial),
        kind: "message",
        role: "assistant",
        model: &request.model,
        content: Vec::new(),
        stop_reason: None,
        stop_sequence: None,
        usage: usage_json(&reply.usage, reply.usage.completion.min(1), true),
    };
    let message = serde_json::to_value(&start).unwrap_or_default();
    events.push(
        "message_start",
        serde_json::json!({"type": "message_start", "message": message}),
        0,
    );

    if !reply.reasoning.is_empty() {
        let index = events
            .start_block(serde_json::json!({"type": "thinking", "thinking": "", "signature": ""}));
        for piece in &reply.reasoning {
            events.delta(
                index,
                serde_json::json!({"type": "thinking_delta", "thinking": piece}),
                1,
            );
        }
        events.delta(
            index,
            serde_json::json!({"type": "signature_delta", "signature": signature(call)}),
            0,
        );
        events.stop_block(index);
    }
    if has_text(reply) {
        let index = events.start_block(serde_json::json!({"type": "text", "text": ""}));
        for piece in &reply.text {
            events.delta(
                index,
                serde_json::json!({"type": "text_delta", "text": piece}),
                1,
            );
        }
        events.stop_block(index);
    }
    for (position, tool) in reply.tool_calls.iter().enumerate() {
        let block = serde_json::json!({"type": "tool_use", "id": tool_use_id(call, reply, position),
            "name": tool.name, "input": {}});
        let index = events.start_block(block);
        events.delta(
            index,
            serde_json::json!({"type": "input_json_delta", "partial_json": ""}),
            0,
        );
        for piece in &tool.pieces {
            events.delta(
                index,
                serde_json::json!({"type": "input_json_delta", "partial_json": piece}),
                1,
            );
        }
        events.stop_block(index);
    }
    if !events.pinged {
        events.push("ping", serde_json::json!({"type": "ping"}), 0);
    }

    let usage = serde_json::to_value(usage_json(&reply.usage, reply.usage.completion, false))
        .unwrap_or_default();
    let delta = serde_json::json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason(&reply.finish), "stop_sequence": null},
        "usage": usage});
    events.push("message_delta", delta, 0);
    events.push(
        "message_stop",
        serde_json::json!({"type": "message_stop"}),
        0,
    );

    Script {
        events: events.events,
        malformed: call.frame(
            Some("content_block_delta"),
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"#,
        ),
        error: call.json_frame(Some("error"), &errors::anthropic(529, &reply.error, None)),
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

    fn body(user: &str) -> Value {
        json!({"model": "claude-test", "max_tokens": 1024, "system": "abcd",
            "messages": [{"role": "user", "content": [{"type": "text", "text": user}]}]})
    }

    fn call_with(body: Value) -> (MessagesRequest, Reply) {
        let request = read(&body).unwrap();
        let directive = turn_directive(&request.prompt.turn)
            .unwrap()
            .unwrap_or_default();
        let reply = build_reply(&request.prompt, &directive);
        (request, reply)
    }

    #[test]
    fn required_fields_and_roles_checked() {
        assert_eq!(
            read(&json!({"model": "m", "messages": []}))
                .unwrap_err()
                .message,
            "max_tokens: Field required"
        );
        let system_role = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]});
        assert_eq!(
            read(&system_role).unwrap_err().message,
            "messages.0.role: Input should be 'user' or 'assistant'"
        );
    }

    #[test]
    fn non_stream_message_with_cache_usage() {
        let (request, reply) = call_with(body(
            r#"#sim {"text": "Hello", "usage": {"prompt": 100, "cached": 60, "cache_write": 30}}"#,
        ));
        let message: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Anthropic)))
                .unwrap();
        assert_eq!(message["id"], "msg_sim0001");
        assert_eq!(message["type"], "message");
        assert_eq!(message["role"], "assistant");
        assert_eq!(message["model"], "claude-test");
        assert_eq!(
            message["content"],
            json!([{"type": "text", "text": "Hello"}])
        );
        assert_eq!(message["stop_reason"], "end_turn");
        assert_eq!(message["stop_sequence"], Value::Null);
        assert_eq!(message["usage"]["input_tokens"], 10);
        assert_eq!(message["usage"]["cache_read_input_tokens"], 60);
        assert_eq!(message["usage"]["cache_creation_input_tokens"], 30);
        assert_eq!(message["usage"]["output_tokens"], 1);
    }

    #[test]
    fn non_stream_thinking_and_tool_use() {
        let (request, reply) = call_with(body(
            r#"#sim {"reasoning": "let me see", "text": "Calling.", "tool_calls": [{"name": "f", "arguments": {"x": [1, 2]}}]}"#,
        ));
        let message: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Anthropic)))
                .unwrap();
        let content = message["content"].as_array().unwrap();
        assert_eq!(content[0]["type"], "thinking");
        assert_eq!(content[0]["thinking"], "let me see");
        assert!(content[0]["signature"].is_string());
        assert_eq!(content[1], json!({"type": "text", "text": "Calling."}));
        assert_eq!(content[2]["type"], "tool_use");
        assert!(content[2]["id"].as_str().unwrap().starts_with("toolu_"));
        assert_eq!(content[2]["input"], json!({"x": [1, 2]}));
        assert_eq!(message["stop_reason"], "tool_use");
    }

    #[test]
    fn prompt_counts_system_and_messages() {
        let request = read(&body("abcdefgh")).unwrap();
        assert_eq!(request.prompt.prompt_tokens, (3 + 1) + (3 + 2));
        assert_eq!(request.prompt.max_tokens, Some(1024));
    }

    #[test]
    fn stream_events_reassemble() {
        let (request, reply) = call_with(body(
            r#"#sim {"reasoning": "think", "text": "a b", "tool_calls": [{"name": "f", "arguments": {"city": "Paris"}}], "usage": {"cached": 5}}"#,
        ));
        let events = replay(&stream(&request, &reply, &test_call(Provider::Anthropic)));
        let kinds: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
        assert_eq!(
            kinds,
            vec![
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        let mut text = String::new();
        let mut json_input = String::new();
        for event in &events {
            let data: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(data["type"], event.event_type());
            match data["delta"]["type"].as_str() {
                Some("text_delta") => text.push_str(data["delta"]["text"].as_str().unwrap()),
                Some("input_json_delta") => {
                    json_input.push_str(data["delta"]["partial_json"].as_str().unwrap())
                }
                _ => {}
            }
        }
        assert_eq!(text, "a b");
        assert_eq!(
            serde_json::from_str::<Value>(&json_input).unwrap(),
            json!({"city": "Paris"})
        );
        let start: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(start["message"]["content"], json!([]));
        assert_eq!(start["message"]["usage"]["cache_read_input_tokens"], 5);
        assert_eq!(start["message"]["stop_reason"], Value::Null);
        let delta: Value = serde_json::from_str(&events[16].data).unwrap();
        assert_eq!(delta["delta"]["stop_reason"], "tool_use");
        // One reasoning piece, two text pieces and three argument pieces of 8, 8 and 1 characters.
        assert_eq!(delta["usage"]["output_tokens"], 6);
        assert_eq!(delta["usage"]["cache_read_input_tokens"], 5);
    }

    #[test]
    fn in_stream_error_is_overloaded_by_default() {
        let (request, reply) = call_with(body("x"));
        let script = stream(&request, &reply, &test_call(Provider::Anthropic));
        let error = replay(&Script {
            events: vec![Event::new(script.error, 0)],
            ..Script::default()
        });
        assert_eq!(error[0].event_type(), "error");
        let data: Value = serde_json::from_str(&error[0].data).unwrap();
        assert_eq!(
            data,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        );
    }
}
