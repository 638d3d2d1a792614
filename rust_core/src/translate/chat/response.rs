//! Writing `chat.completion` bodies and `chat.completion.chunk` documents.
//!
//! Both translating adapters build their responses here, so the two providers
//! produce the same shapes: the same id scheme, the same usage object, the
//! same message fields and the same minted tool-call ids.

use bytes::Bytes;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::translate::{CallContext, Usage};

/// Return the `id` of the completion and of every chunk of its stream.
pub fn completion_id(request_id: &str) -> String {
    format!("chatcmpl-{request_id}")
}

/// Mint a tool-call id for a provider that gives none: the same request id, choice and position
/// always mint the same id, so a streamed and a non-streamed response agree.
pub fn mint_tool_call_id(request_id: &str, choice: u32, position: usize) -> String {
    let digest = Sha256::digest(format!("{request_id}:{choice}:{position}").as_bytes());
    format!("call_{}", &hex::encode(digest)[..24])
}

/// Removes the whitespace between JSON tokens from JSON text that arrives in pieces, so streamed
/// and whole tool arguments come out byte for byte the same. Key order and strings are untouched.
#[derive(Debug, Default)]
pub struct JsonCompactor {
    in_string: bool,
    escaped: bool,
}

impl JsonCompactor {
    /// Compact the next piece.
    pub fn push(&mut self, piece: &str) -> String {
        let mut out = String::with_capacity(piece.len());
        for c in piece.chars() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == '"' {
                    self.in_string = false;
                }
            } else if c == '"' {
                self.in_string = true;
            } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
                continue;
            }
            out.push(c);
        }
        out
    }
}

/// `text` without the whitespace between its JSON tokens.
pub fn compact_json(text: &str) -> String {
    JsonCompactor::default().push(text)
}

/// Render the OpenAI `usage` object.
pub fn usage_json(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    })
}

/// Render one entry of `tool_calls`, for a message or for the first fragment of a streamed call.
pub fn tool_call_json(
    id: &str,
    name: &str,
    arguments: &str,
    thought_signature: Option<&str>,
) -> Value {
    let mut call = json!({
        "id": id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    });
    if let Some(signature) = thought_signature {
        call["extra_content"] = json!({"google": {"thought_signature": signature}});
    }
    call
}

/// The assistant message of one choice, filled part by part.
#[derive(Debug, Default)]
pub struct AssistantMessage {
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Vec<Value>,
    /// Anthropic thinking blocks with their signatures, for the client to send back.
    pub thinking_blocks: Vec<Value>,
}

impl AssistantMessage {
    /// Render the message object; `content` is null only when the turn is tool calls alone.
    pub fn into_json(self) -> Value {
        let content = if self.content.is_empty() && !self.tool_calls.is_empty() {
            Value::Null
        } else {
            Value::String(self.content)
        };
        let mut message = json!({"role": "assistant", "content": content, "refusal": null});
        if !self.reasoning.is_empty() {
            message["reasoning_content"] = Value::String(self.reasoning);
        }
        if !self.thinking_blocks.is_empty() {
            message["thinking_blocks"] = Value::Array(self.thinking_blocks);
        }
        if !self.tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(self.tool_calls);
        }
        message
    }
}

/// One choice of a `chat.completion`.
pub struct Choice {
    pub index: u32,
    pub message: AssistantMessage,
    pub finish_reason: &'static str,
}

/// Serialize a `chat.completion` body.
pub fn completion_body(ctx: &CallContext<'_>, choices: Vec<Choice>, usage: &Usage) -> Bytes {
    let choices: Vec<Value> = choices
        .into_iter()
        .map(|choice| {
            json!({
                "index": choice.index,
                "message": choice.message.into_json(),
                "logprobs": null,
                "finish_reason": choice.finish_reason,
            })
        })
        .collect();
    let body = json!({
        "id": completion_id(ctx.request_id),
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.client_model,
        "choices": choices,
        "usage": usage_json(usage),
    });
    Bytes::from(body.to_string())
}

/// Builds the chunks of one stream, all sharing one id, `created` and model.
#[derive(Debug)]
pub struct ChunkWriter {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    /// Characters of content, reasoning and tool arguments written so far.
    pub streamed_chars: usize,
}

impl ChunkWriter {
    pub fn new(ctx: &CallContext<'_>) -> Self {
        Self {
            id: completion_id(ctx.request_id),
            created: ctx.created,
            model: ctx.client_model.to_owned(),
            include_usage: ctx.include_usage,
            streamed_chars: 0,
        }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>) -> Bytes {
        let mut chunk = Map::new();
        chunk.insert("id".into(), Value::String(self.id.clone()));
        chunk.insert("object".into(), "chat.completion.chunk".into());
        chunk.insert("created".into(), self.created.into());
        chunk.insert("model".into(), Value::String(self.model.clone()));
        chunk.insert("choices".into(), choices);
        if self.include_usage {
            chunk.insert("usage".into(), usage.unwrap_or(Value::Null));
        }
        Bytes::from(Value::Object(chunk).to_string())
    }

    fn choice(&self, index: u32, delta: Value, finish_reason: Option<&str>) -> Bytes {
        let choice = json!({
            "index": index,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        });
        self.chunk(Value::Array(vec![choice]), None)
    }

    /// Write the first chunk of a choice: the role and an empty content string.
    pub fn role(&self, index: u32) -> Bytes {
        self.choice(index, json!({"role": "assistant", "content": ""}), None)
    }

    pub fn content(&mut self, index: u32, text: &str) -> Bytes {
        self.streamed_chars += text.chars().count();
        self.choice(index, json!({"content": text}), None)
    }

    pub fn reasoning(&mut self, index: u32, text: &str) -> Bytes {
        self.streamed_chars += text.chars().count();
        self.choice(index, json!({"reasoning_content": text}), None)
    }

    /// Write the first fragment of a tool call: index, id, type, name and the first arguments.
    pub fn tool_call_start(&mut self, index: u32, call_index: usize, call: Value) -> Bytes {
        let arguments = call.pointer("/function/arguments").and_then(Value::as_str);
        self.streamed_chars += arguments.map_or(0, |a| a.chars().count());
        let mut call = call;
        call["index"] = call_index.into();
        self.choice(index, json!({"tool_calls": [call]}), None)
    }

    /// Write a later fragment of a tool call: its index and more argument text.
    pub fn tool_call_arguments(&mut self, index: u32, call_index: usize, arguments: &str) -> Bytes {
        self.streamed_chars += arguments.chars().count();
        let call = json!({"index": call_index, "function": {"arguments": arguments}});
        self.choice(index, json!({"tool_calls": [call]}), None)
    }

    pub fn thinking_block(&self, index: u32, block: Value) -> Bytes {
        self.choice(index, json!({"thinking_blocks": [block]}), None)
    }

    pub fn finish(&self, index: u32, finish_reason: &str) -> Bytes {
        self.choice(index, json!({}), Some(finish_reason))
    }

    /// Write the closing usage chunk, or nothing when the client did not request it.
    pub fn usage(&self, usage: &Usage) -> Option<Bytes> {
        self.include_usage
            .then(|| self.chunk(Value::Array(Vec::new()), Some(usage_json(usage))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_stable_and_distinct() {
        let a = mint_tool_call_id("req_1", 0, 0);
        assert_eq!(a, mint_tool_call_id("req_1", 0, 0));
        assert_ne!(a, mint_tool_call_id("req_1", 0, 1));
        assert_ne!(a, mint_tool_call_id("req_2", 0, 0));
        assert!(a.starts_with("call_"));
        assert_eq!(a.len(), 5 + 24);
    }

    #[test]
    fn compactor_keeps_strings_across_pieces() {
        let mut compactor = JsonCompactor::default();
        let pieces = ["{ \"a b\": \"x\\", "\" y\" ,", "\n \"c\" : [1, 2] }"];
        let joined: String = pieces.iter().map(|p| compactor.push(p)).collect();
        assert_eq!(joined, r#"{"a b":"x\" y","c":[1,2]}"#);
        assert_eq!(compact_json("{\n  \"k\": \"v v\"\n}"), r#"{"k":"v v"}"#);
    }

    #[test]
    fn tool_only_message_has_null_content() {
        let message = AssistantMessage {
            tool_calls: vec![tool_call_json("c", "f", "{}", None)],
            ..AssistantMessage::default()
        };
        assert!(message.into_json()["content"].is_null());
        assert_eq!(AssistantMessage::default().into_json()["content"], "");
    }
}
