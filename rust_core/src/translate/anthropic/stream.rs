//! Anthropic Messages stream to `chat.completion.chunk` documents.
//!
//! Each upstream event becomes its chunks at once. Tool calls are numbered by
//! a counter of their own (OpenAI's `index`), not by Anthropic's block index,
//! because text and thinking blocks also take block indexes.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{json, Value};

use super::response::AnthropicUsage;
use super::{finish_reason, ANSWER_TOOL};
use crate::error::GatewayError;
use crate::sse;
use crate::translate::chat::{tool_call_json, ChunkWriter, JsonCompactor};
use crate::translate::{errors, CallContext, Flow, Provider, StreamTranslator, Usage};

/// The translation state of one open content block.
enum Block {
    Text,
    Thinking {
        text: String,
        signature: String,
    },
    /// A caller tool, numbered among this message's tool calls.
    Tool {
        call: usize,
        sent_arguments: bool,
        start_input: Option<Value>,
        compactor: JsonCompactor,
    },
    /// The answer tool that carries `response_format`; its arguments are the content.
    Answer {
        sent: bool,
        compactor: JsonCompactor,
    },
    Ignored,
}

pub struct AnthropicStream {
    writer: ChunkWriter,
    blocks: HashMap<u64, Block>,
    tool_calls: usize,
    usage: AnthropicUsage,
    usage_seen: bool,
    started: bool,
    finished: bool,
    done: bool,
}

impl AnthropicStream {
    pub fn new(ctx: &CallContext<'_>) -> Self {
        Self {
            writer: ChunkWriter::new(ctx),
            blocks: HashMap::new(),
            tool_calls: 0,
            usage: AnthropicUsage::default(),
            usage_seen: false,
            started: false,
            finished: false,
            done: false,
        }
    }

    fn start(&mut self, out: &mut Vec<Bytes>) {
        if !self.started {
            self.started = true;
            out.push(self.writer.role(0));
        }
    }

    fn read_usage(&mut self, usage: Option<&Value>) {
        if let Some(usage) =
            usage.and_then(|u| serde_json::from_value::<AnthropicUsage>(u.clone()).ok())
        {
            self.usage.update(&usage);
            self.usage_seen = true;
        }
    }

    fn block_start(&mut self, index: u64, block: &Value, out: &mut Vec<Bytes>) {
        let text = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
        let state = match text("type") {
            "text" => {
                if !text("text").is_empty() {
                    out.push(self.writer.content(0, text("text")));
                }
                Block::Text
            }
            "thinking" => {
                if !text("thinking").is_empty() {
                    out.push(self.writer.reasoning(0, text("thinking")));
                }
                Block::Thinking {
                    text: text("thinking").to_owned(),
                    signature: text("signature").to_owned(),
                }
            }
            "redacted_thinking" => {
                let data = text("data");
                out.push(
                    self.writer
                        .thinking_block(0, json!({"type": "redacted_thinking", "data": data})),
                );
                Block::Ignored
            }
            "tool_use" if text("name") == ANSWER_TOOL => Block::Answer {
                sent: false,
                compactor: JsonCompactor::default(),
            },
            "tool_use" => {
                let call = self.tool_calls;
                self.tool_calls += 1;
                let first = tool_call_json(text("id"), text("name"), "", None);
                out.push(self.writer.tool_call_start(0, call, first));
                let start_input = block
                    .get("input")
                    .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()));
                Block::Tool {
                    call,
                    sent_arguments: false,
                    start_input: start_input.cloned(),
                    compactor: JsonCompactor::default(),
                }
            }
            _ => Block::Ignored,
        };
        self.blocks.insert(index, state);
    }

    fn block_delta(&mut self, index: u64, delta: &Value, out: &mut Vec<Bytes>) {
        let text = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or("");
        let Some(block) = self.blocks.get_mut(&index) else {
            return;
        };
        match (block, text("type")) {
            (Block::Text, "text_delta") if !text("text").is_empty() => {
                out.push(self.writer.content(0, text("text")));
            }
            (Block::Thinking { text: thought, .. }, "thinking_delta")
                if !text("thinking").is_empty() =>
            {
                thought.push_str(text("thinking"));
                out.push(self.writer.reasoning(0, text("thinking")));
            }
            (Block::Thinking { signature, .. }, "signature_delta") => {
                signature.push_str(text("signature"))
            }
            (
                Block::Tool {
                    call,
                    sent_arguments,
                    compactor,
                    ..
                },
                "input_json_delta",
            ) => {
                let piece = compactor.push(text("partial_json"));
                if !piece.is_empty() {
                    *sent_arguments = true;
                    out.push(self.writer.tool_call_arguments(0, *call, &piece));
                }
            }
            (Block::Answer { sent, compactor }, "input_json_delta") => {
                let piece = compactor.push(text("partial_json"));
                if !piece.is_empty() {
                    *sent = true;
                    out.push(self.writer.content(0, &piece));
                }
            }
            // Citations, empty fragments and deltas of ignored blocks.
            _ => {}
        }
    }

    fn block_stop(&mut self, index: u64, out: &mut Vec<Bytes>) {
        match self.blocks.remove(&index) {
            Some(Block::Thinking { text, signature }) if !signature.is_empty() => {
                let block = json!({"type": "thinking", "thinking": text, "signature": signature});
                out.push(self.writer.thinking_block(0, block));
            }
            // A tool with no argument fragments still gets a JSON object, as in a full response.
            Some(Block::Tool {
                call,
                sent_arguments: false,
                start_input,
                ..
            }) => {
                let arguments =
                    start_input.map_or_else(|| "{}".to_owned(), |input| input.to_string());
                out.push(self.writer.tool_call_arguments(0, call, &arguments));
            }
            Some(Block::Answer { sent: false, .. }) => out.push(self.writer.content(0, "{}")),
            _ => {}
        }
    }

    fn finish(&mut self, stop_reason: Option<&str>, out: &mut Vec<Bytes>) {
        if !self.finished {
            self.finished = true;
            self.start(out);
            out.push(
                self.writer
                    .finish(0, finish_reason(stop_reason, self.tool_calls > 0)),
            );
        }
    }
}

fn unreadable(err: serde_json::Error) -> GatewayError {
    GatewayError::new(
        "upstream_error",
        format!("Anthropic sent a stream event the gateway could not read: {err}"),
    )
}

impl StreamTranslator for AnthropicStream {
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<Bytes>) -> Result<Flow, GatewayError> {
        if self.done {
            return Ok(Flow::Done);
        }
        let data: Value = serde_json::from_str(&event.data).map_err(unreadable)?;
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(event.event_type());
        let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                self.read_usage(data.pointer("/message/usage"));
                self.start(out);
            }
            "content_block_start" => {
                self.start(out);
                self.block_start(
                    index,
                    data.get("content_block").unwrap_or(&Value::Null),
                    out,
                );
            }
            "content_block_delta" => {
                self.block_delta(index, data.get("delta").unwrap_or(&Value::Null), out)
            }
            "content_block_stop" => self.block_stop(index, out),
            "message_delta" => {
                self.read_usage(data.get("usage"));
                let stop_reason = data.pointer("/delta/stop_reason").and_then(Value::as_str);
                if stop_reason.is_some() {
                    self.finish(stop_reason, out);
                }
            }
            "message_stop" => {
                self.finish(None, out);
                self.done = true;
                return Ok(Flow::Done);
            }
            "error" => return Err(errors::from_stream_error(Provider::Anthropic, &data)),
            // `ping` and event types added after this was written.
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn on_end(&mut self, out: &mut Vec<Bytes>) -> Result<(), GatewayError> {
        if !self.done {
            return Err(GatewayError::new(
                "upstream_error",
                "the Anthropic stream ended before message_stop",
            ));
        }
        out.extend(self.writer.usage(&self.usage.to_usage()));
        Ok(())
    }

    fn usage(&self) -> Option<Usage> {
        self.usage_seen.then(|| self.usage.to_usage())
    }

    fn streamed_chars(&self) -> usize {
        self.writer.streamed_chars
    }
}
