//! Gemini `GenerateContentResponse` to `chat.completion`.
//!
//! The same types read each chunk of a stream, since a streamed chunk is a
//! `GenerateContentResponse` holding only the new parts.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::GatewayError;
use crate::translate::chat::{
    compact_json, completion_body, mint_tool_call_id, tool_call_json, AssistantMessage, Choice,
};
use crate::translate::{CallContext, Completion, Usage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    pub prompt_feedback: Option<PromptFeedback>,
    pub usage_metadata: Option<UsageMetadata>,
    /// An error object sent inside a stream.
    pub error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub content: Option<Content>,
    pub finish_reason: Option<String>,
    pub finish_message: Option<String>,
    pub index: Option<u32>,
}

#[derive(Deserialize)]
pub struct Content {
    #[serde(default)]
    pub parts: Vec<GeminiPart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeminiPart {
    pub text: Option<String>,
    #[serde(default)]
    pub thought: bool,
    pub thought_signature: Option<String>,
    pub function_call: Option<FunctionCall>,
}

#[derive(Deserialize)]
pub struct FunctionCall {
    pub id: Option<String>,
    pub name: String,
    /// Kept as raw JSON text so the arguments keep Gemini's key order.
    pub args: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    pub block_reason: Option<String>,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    tool_use_prompt_token_count: Option<u64>,
}

impl UsageMetadata {
    /// OpenAI's view: thinking tokens, which Gemini counts apart, join the completion tokens.
    pub fn to_usage(self) -> Usage {
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        Usage {
            prompt_tokens: self.prompt_token_count.unwrap_or(0)
                + self.tool_use_prompt_token_count.unwrap_or(0),
            cached_tokens: self.cached_content_token_count.unwrap_or(0),
            cache_write_tokens: 0,
            completion_tokens: self.candidates_token_count.unwrap_or(0) + thoughts,
            reasoning_tokens: thoughts,
        }
    }
}

impl GenerateResponse {
    pub fn parse(bytes: &[u8]) -> Result<Self, GatewayError> {
        serde_json::from_slice(bytes).map_err(|err| {
            GatewayError::new(
                "upstream_error",
                format!("Gemini returned a body the gateway could not read: {err}"),
            )
        })
    }

    /// Return the block reason when the prompt itself was blocked and no candidate came back.
    pub fn blocked_prompt(&self) -> Option<&str> {
        let reason = self.prompt_feedback.as_ref()?.block_reason.as_deref()?;
        self.candidates.is_empty().then_some(reason)
    }
}

/// A function call as an OpenAI tool call; Gemini's id is kept, a missing one is minted.
pub fn tool_call(
    call: &FunctionCall,
    signature: Option<&str>,
    request_id: &str,
    choice: u32,
    position: usize,
) -> Value {
    let id = match &call.id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => mint_tool_call_id(request_id, choice, position),
    };
    let arguments = call
        .args
        .as_ref()
        .map_or_else(|| "{}".to_owned(), |raw| compact_json(raw.get()));
    tool_call_json(&id, &call.name, &arguments, signature)
}

/// OpenAI's `finish_reason` for Gemini's `finishReason`. The reasons that mean the model's
/// function call could not be used are errors, because no OpenAI finish reason expresses that.
pub fn finish_reason(
    reason: &str,
    has_tool_calls: bool,
    message: Option<&str>,
) -> Result<&'static str, GatewayError> {
    Ok(match reason {
        "STOP" if has_tool_calls => "tool_calls",
        "MAX_TOKENS" => "length",
        "SAFETY"
        | "RECITATION"
        | "LANGUAGE"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => "content_filter",
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
            let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
            return Err(GatewayError::new(
                "upstream_error",
                format!(
                    "Gemini stopped with {reason}, so the response has no usable tool call{detail}"
                ),
            ));
        }
        // STOP, OTHER, NO_IMAGE, IMAGE_OTHER, FINISH_REASON_UNSPECIFIED and unknown values.
        _ => "stop",
    })
}

fn choice(
    candidate: &Candidate,
    position: usize,
    ctx: &CallContext<'_>,
) -> Result<Choice, GatewayError> {
    let index = candidate.index.unwrap_or(position as u32);
    let mut message = AssistantMessage::default();
    let parts = candidate.content.as_ref().map_or(&[][..], |c| &c.parts[..]);
    for part in parts {
        if let Some(call) = &part.function_call {
            let position = message.tool_calls.len();
            let call = tool_call(
                call,
                part.thought_signature.as_deref(),
                ctx.request_id,
                index,
                position,
            );
            message.tool_calls.push(call);
        } else if let Some(text) = &part.text {
            let target = if part.thought {
                &mut message.reasoning
            } else {
                &mut message.content
            };
            target.push_str(text);
        }
    }
    let reason = candidate.finish_reason.as_deref().unwrap_or("STOP");
    let finish_reason = finish_reason(
        reason,
        !message.tool_calls.is_empty(),
        candidate.finish_message.as_deref(),
    )?;
    Ok(Choice {
        index,
        message,
        finish_reason,
    })
}

/// Translate a `generateContent` body.
pub fn parse(body: &[u8], ctx: &CallContext<'_>) -> Result<Completion, GatewayError> {
    let response = GenerateResponse::parse(body)?;
    let usage = response.usage_metadata.unwrap_or_default().to_usage();
    let choices = if response.blocked_prompt().is_some() {
        vec![Choice {
            index: 0,
            message: AssistantMessage::default(),
            finish_reason: "content_filter",
        }]
    } else if response.candidates.is_empty() {
        return Err(GatewayError::new(
            "upstream_error",
            "Gemini returned no candidates",
        ));
    } else {
        let mut choices = response
            .candidates
            .iter()
            .enumerate()
            .map(|(position, candidate)| choice(candidate, position, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        choices.sort_by_key(|choice| choice.index);
        choices
    };
    Ok(Completion {
        body: completion_body(ctx, choices, &usage),
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thoughts_join_completion_tokens() {
        let usage: UsageMetadata = serde_json::from_str(
            r#"{"promptTokenCount": 40, "candidatesTokenCount": 10, "thoughtsTokenCount": 25, "cachedContentTokenCount": 32}"#,
        )
        .unwrap();
        let usage = usage.to_usage();
        assert_eq!(usage.prompt_tokens, 40);
        assert_eq!(usage.cached_tokens, 32);
        assert_eq!(usage.completion_tokens, 35);
        assert_eq!(usage.reasoning_tokens, 25);
    }

    #[test]
    fn finish_reasons_mapped() {
        assert_eq!(finish_reason("STOP", false, None).unwrap(), "stop");
        assert_eq!(finish_reason("STOP", true, None).unwrap(), "tool_calls");
        assert_eq!(finish_reason("MAX_TOKENS", false, None).unwrap(), "length");
        assert_eq!(
            finish_reason("SAFETY", false, None).unwrap(),
            "content_filter"
        );
        assert_eq!(finish_reason("OTHER", false, None).unwrap(), "stop");
        assert_eq!(
            finish_reason("MALFORMED_FUNCTION_CALL", false, None)
                .unwrap_err()
                .code,
            "upstream_error"
        );
    }
}
