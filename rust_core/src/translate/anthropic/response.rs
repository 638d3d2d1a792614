//! Anthropic Messages response to `chat.completion`.

use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::{finish_reason, ANSWER_TOOL};
use crate::error::GatewayError;
use crate::translate::chat::{
    compact_json, completion_body, tool_call_json, AssistantMessage, Choice,
};
use crate::translate::{CallContext, Completion, Usage};

#[derive(Deserialize)]
struct MessageBody {
    #[serde(default)]
    content: Vec<Block>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: AnthropicUsage,
}

/// One content block. A flat struct rather than an enum, because `input` is kept as raw JSON
/// text and serde cannot buffer raw values inside tagged enums.
#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    data: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Box<RawValue>>,
}

/// Anthropic's token counts; `input_tokens` excludes cache reads and writes.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub struct AnthropicUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Take every count `later` reports; counts it omits keep their earlier value.
    pub fn update(&mut self, later: &AnthropicUsage) {
        let keep = |old: Option<u64>, new: Option<u64>| new.or(old);
        self.input_tokens = keep(self.input_tokens, later.input_tokens);
        self.output_tokens = keep(self.output_tokens, later.output_tokens);
        self.cache_creation_input_tokens = keep(
            self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        self.cache_read_input_tokens =
            keep(self.cache_read_input_tokens, later.cache_read_input_tokens);
    }

    /// OpenAI's view: prompt tokens include cache reads and writes. Anthropic does not report
    /// thinking tokens apart from the visible text, so they are counted in `completion_tokens` only.
    pub fn to_usage(self) -> Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let written = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            prompt_tokens: self.input_tokens.unwrap_or(0) + cached + written,
            cached_tokens: cached,
            cache_write_tokens: written,
            completion_tokens: self.output_tokens.unwrap_or(0),
            reasoning_tokens: 0,
        }
    }
}

/// Gather the content blocks into one assistant message, and report whether a caller tool
/// was called.
fn assistant_message(blocks: &[Block]) -> (AssistantMessage, bool) {
    let mut message = AssistantMessage::default();
    let mut caller_tools = false;
    for block in blocks {
        match block.kind.as_str() {
            "text" => message
                .content
                .push_str(block.text.as_deref().unwrap_or("")),
            "thinking" => {
                let text = block.thinking.as_deref().unwrap_or("");
                message.reasoning.push_str(text);
                let mut thinking = json!({"type": "thinking", "thinking": text});
                if let Some(signature) = &block.signature {
                    thinking["signature"] = signature.clone().into();
                }
                message.thinking_blocks.push(thinking);
            }
            "redacted_thinking" => message.thinking_blocks.push(
                json!({"type": "redacted_thinking", "data": block.data.as_deref().unwrap_or("")}),
            ),
            "tool_use" => {
                let arguments = block
                    .input
                    .as_ref()
                    .map_or_else(|| "{}".to_owned(), |raw| compact_json(raw.get()));
                let name = block.name.as_deref().unwrap_or("");
                if name == ANSWER_TOOL {
                    message.content.push_str(&arguments);
                    continue;
                }
                caller_tools = true;
                let id = block.id.as_deref().unwrap_or("");
                message
                    .tool_calls
                    .push(tool_call_json(id, name, &arguments, None));
            }
            // Server tool blocks and future block types carry nothing the chat format can hold.
            _ => {}
        }
    }
    (message, caller_tools)
}

/// Translate a Messages API body.
pub fn parse(body: &[u8], ctx: &CallContext<'_>) -> Result<Completion, GatewayError> {
    let parsed: MessageBody = serde_json::from_slice(body).map_err(|err| {
        GatewayError::new(
            "upstream_error",
            format!("Anthropic returned a body the gateway could not read: {err}"),
        )
    })?;
    let (message, caller_tools) = assistant_message(&parsed.content);
    let usage = parsed.usage.to_usage();
    let choice = Choice {
        index: 0,
        message,
        finish_reason: finish_reason(parsed.stop_reason.as_deref(), caller_tools),
    };
    Ok(Completion {
        body: completion_body(ctx, vec![choice], &usage),
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_counts_join_prompt_tokens() {
        let usage = AnthropicUsage {
            input_tokens: Some(12),
            output_tokens: Some(57),
            cache_creation_input_tokens: Some(3),
            cache_read_input_tokens: Some(100),
        }
        .to_usage();
        assert_eq!(usage.prompt_tokens, 115);
        assert_eq!(usage.cached_tokens, 100);
        assert_eq!(usage.cache_write_tokens, 3);
        assert_eq!(usage.completion_tokens, 57);
    }

    #[test]
    fn raw_input_kept_as_arguments() {
        let blocks: Vec<Block> = serde_json::from_str(
            r#"[{"type":"tool_use","id":"toolu_1","name":"f","input":{"b": 1, "a": 2}}]"#,
        )
        .unwrap();
        let (message, caller_tools) = assistant_message(&blocks);
        assert!(caller_tools);
        assert_eq!(
            message.tool_calls[0]["function"]["arguments"],
            r#"{"b":1,"a":2}"#
        );
    }
}
