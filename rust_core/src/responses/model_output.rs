//! What the model produced in one turn, read from a `chat.completion` body or
//! gathered from the chunks of a stream.
//!
//! Both paths fill the same [`ModelOutput`], from which the Response object's
//! status and the assistant message replayed by later turns are derived.

use serde_json::{json, Map, Value};

use crate::error::GatewayError;
use crate::translate::Usage;

/// One function call the model made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionCall {
    /// The provider's tool-call id, which the client sends back as `call_id` with the result.
    pub call_id: String,
    pub name: String,
    pub arguments: String,
    /// Provider data that must be replayed with the call (Gemini's thought signature).
    pub extra_content: Option<Value>,
}

/// Everything the model produced in one turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelOutput {
    pub reasoning: String,
    pub text: String,
    pub refusal: String,
    pub function_calls: Vec<FunctionCall>,
    /// Anthropic thinking blocks with their signatures, replayed in later turns.
    pub thinking_blocks: Vec<Value>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

/// Read a chat-completions `usage` object leniently: missing counts are 0.
pub fn chat_usage(usage: &Value) -> Usage {
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        prompt_tokens: count("/prompt_tokens"),
        cached_tokens: count("/prompt_tokens_details/cached_tokens"),
        cache_write_tokens: count("/prompt_tokens_details/cache_write_tokens"),
        completion_tokens: count("/completion_tokens"),
        reasoning_tokens: count("/completion_tokens_details/reasoning_tokens"),
    }
}

/// Render `usage` in Responses terms.
pub fn usage_json(usage: &Usage) -> Value {
    let mut input_details = json!({"cached_tokens": usage.cached_tokens});
    // Only providers with explicit cache writes report them, so the field appears when non-zero.
    if usage.cache_write_tokens > 0 {
        input_details["cache_write_tokens"] = usage.cache_write_tokens.into();
    }
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": input_details,
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    })
}

fn text_of(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl ModelOutput {
    /// Read the first choice of a `chat.completion` body.
    pub fn from_completion(body: &[u8], usage: Usage) -> Result<Self, GatewayError> {
        let completion: Value = serde_json::from_slice(body).map_err(|err| {
            GatewayError::new(
                "upstream_error",
                format!("the provider's response is not a chat completion: {err}"),
            )
        })?;
        let Some(choice) = completion.pointer("/choices/0") else {
            return Err(GatewayError::new(
                "upstream_error",
                "the provider's response has no choices",
            ));
        };
        let message = choice.get("message").cloned().unwrap_or_else(|| json!({}));
        let mut model_output = ModelOutput {
            reasoning: text_of(message.get("reasoning_content")),
            text: text_of(message.get("content")),
            refusal: text_of(message.get("refusal")),
            finish_reason: choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(str::to_owned),
            usage: Some(usage),
            ..ModelOutput::default()
        };
        if let Some(blocks) = message.get("thinking_blocks").and_then(Value::as_array) {
            model_output.thinking_blocks = blocks.clone();
        }
        for call in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            model_output.function_calls.push(FunctionCall {
                call_id: text_of(call.get("id")),
                name: text_of(call.pointer("/function/name")),
                arguments: text_of(call.pointer("/function/arguments")),
                extra_content: call.get("extra_content").filter(|v| !v.is_null()).cloned(),
            });
        }
        Ok(model_output)
    }

    /// Map the provider's finish reason to the Response `status` and `incomplete_details`.
    pub fn status(&self) -> (&'static str, Value) {
        match self.finish_reason.as_deref() {
            Some("length") => ("incomplete", json!({"reason": "max_output_tokens"})),
            Some("content_filter") => ("incomplete", json!({"reason": "content_filter"})),
            _ => ("completed", Value::Null),
        }
    }

    /// Tell whether the output has a message item: when it has text or a refusal, or nothing
    /// at all.
    pub fn has_message(&self) -> bool {
        !self.text.is_empty()
            || !self.refusal.is_empty()
            || (self.function_calls.is_empty() && self.reasoning.is_empty())
    }

    /// Build the assistant message that replays this output in a later turn's chat request, or `None`
    /// when the model produced nothing a provider would accept back.
    pub fn history_message(&self) -> Option<Value> {
        let text = if self.text.is_empty() {
            &self.refusal
        } else {
            &self.text
        };
        if text.is_empty() && self.function_calls.is_empty() {
            return None;
        }
        let mut message = Map::new();
        message.insert("role".into(), "assistant".into());
        message.insert(
            "content".into(),
            if text.is_empty() {
                Value::Null
            } else {
                Value::String(text.clone())
            },
        );
        if !self.function_calls.is_empty() {
            let calls = self.function_calls.iter().map(|call| {
                let mut value = json!({"id": call.call_id, "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments}});
                if let Some(extra) = &call.extra_content {
                    value["extra_content"] = extra.clone();
                }
                value
            });
            message.insert("tool_calls".into(), Value::Array(calls.collect()));
        }
        if !self.thinking_blocks.is_empty() {
            message.insert(
                "thinking_blocks".into(),
                Value::Array(self.thinking_blocks.clone()),
            );
        }
        Some(Value::Object(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(message: Value, finish: &str) -> Vec<u8> {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [
            {"index": 0, "message": message, "finish_reason": finish}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn completion_read_into_answer() {
        let body = completion(
            json!({"role": "assistant", "content": "Checking.", "reasoning_content": "Hmm",
                "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "f", "arguments": "{\"a\":1}"},
                    "extra_content": {"google": {"thought_signature": "sig"}}}]}),
            "tool_calls",
        );
        let model_output = ModelOutput::from_completion(&body, Usage::default()).unwrap();
        assert_eq!(model_output.text, "Checking.");
        assert_eq!(model_output.reasoning, "Hmm");
        assert_eq!(model_output.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            model_output.function_calls,
            vec![FunctionCall {
                call_id: "call_1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
                extra_content: Some(json!({"google": {"thought_signature": "sig"}})),
            }]
        );
        assert_eq!(model_output.status(), ("completed", Value::Null));
    }

    #[test]
    fn finish_reasons_map_to_status() {
        let model_output = |finish: &str| ModelOutput {
            finish_reason: Some(finish.into()),
            ..ModelOutput::default()
        };
        assert_eq!(
            model_output("length").status(),
            ("incomplete", json!({"reason": "max_output_tokens"}))
        );
        assert_eq!(
            model_output("content_filter").status(),
            ("incomplete", json!({"reason": "content_filter"}))
        );
        assert_eq!(model_output("stop").status().0, "completed");
    }

    #[test]
    fn history_message_keeps_calls_and_thinking() {
        let model_output = ModelOutput {
            function_calls: vec![FunctionCall {
                call_id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
                extra_content: None,
            }],
            thinking_blocks: vec![json!({"type": "thinking", "thinking": "t", "signature": "s"})],
            reasoning: "t".into(),
            ..ModelOutput::default()
        };
        assert_eq!(
            model_output.history_message().unwrap(),
            json!({"role": "assistant", "content": null,
                "tool_calls": [{"id": "c", "type": "function",
                    "function": {"name": "f", "arguments": "{}"}}],
                "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}]})
        );
        assert_eq!(ModelOutput::default().history_message(), None);
    }

    #[test]
    fn usage_rendered_in_responses_terms() {
        let usage = chat_usage(&json!({"prompt_tokens": 10, "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2}}));
        assert_eq!(
            usage_json(&usage),
            json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4},
                "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 2},
                "total_tokens": 15})
        );
    }
}
