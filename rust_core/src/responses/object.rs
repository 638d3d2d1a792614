//! The Response object and its output items.

use serde_json::{json, Value};

use super::model_output::{usage_json, FunctionCall, ModelOutput};
use super::request::Settings;
use crate::translate::Usage;

/// Makes new item ids from a prefix such as `msg`; production uses [`crate::ids::new_id`].
pub type MintId<'a> = &'a mut dyn FnMut(&str) -> String;

/// Identity and request settings, which every copy of one Response object shares.
#[derive(Clone, Debug)]
pub struct Header {
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The model name the client sent.
    pub model: String,
    pub settings: Settings,
}

/// The end state of a response, rendered as `status`, `error` and `incomplete_details`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ending {
    pub status: &'static str,
    pub error: Value,
    pub incomplete_details: Value,
    /// Unix seconds, for finished responses.
    pub completed_at: Option<u64>,
}

impl Ending {
    pub fn in_progress() -> Self {
        Self {
            status: "in_progress",
            error: Value::Null,
            incomplete_details: Value::Null,
            completed_at: None,
        }
    }

    /// Return the ending of a finished turn: `completed`, or `incomplete` with its reason.
    pub fn of(model_output: &ModelOutput, now: u64) -> Self {
        let (status, incomplete_details) = model_output.status();
        Self {
            status,
            error: Value::Null,
            incomplete_details,
            completed_at: Some(now),
        }
    }

    pub fn failed(code: &str, message: &str) -> Self {
        Self {
            status: "failed",
            error: json!({"code": code, "message": message}),
            incomplete_details: Value::Null,
            completed_at: None,
        }
    }
}

/// Concatenate the text of every `output_text` part, which the SDKs expose as `output_text`.
pub fn output_text(output: &[Value]) -> String {
    let mut text = String::new();
    for item in output.iter().filter(|item| item["type"] == "message") {
        for part in item["content"].as_array().into_iter().flatten() {
            if part["type"] == "output_text" {
                text.push_str(part["text"].as_str().unwrap_or_default());
            }
        }
    }
    text
}

impl Header {
    /// Render the Response object.
    pub fn render(&self, ending: &Ending, output: Vec<Value>, usage: Option<&Usage>) -> Value {
        let s = &self.settings;
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": ending.status,
            "background": false,
            "completed_at": ending.completed_at,
            "error": ending.error,
            "incomplete_details": ending.incomplete_details,
            "instructions": s.instructions,
            "max_output_tokens": s.max_output_tokens,
            "metadata": s.metadata,
            "model": self.model,
            "output_text": output_text(&output),
            "output": output,
            "parallel_tool_calls": s.parallel_tool_calls,
            "previous_response_id": s.previous_response_id,
            "prompt_cache_key": s.prompt_cache_key,
            "reasoning": s.reasoning,
            "safety_identifier": s.safety_identifier,
            "service_tier": s.service_tier,
            "store": s.store,
            "temperature": s.temperature,
            "text": s.text,
            "tool_choice": s.tool_choice,
            "tools": s.tools,
            "top_p": s.top_p,
            "truncation": "disabled",
            "usage": usage.map(usage_json),
            "user": s.user,
        })
    }
}

pub fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

pub fn refusal_part(text: &str) -> Value {
    json!({"type": "refusal", "refusal": text})
}

pub fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant",
           "content": content})
}

pub fn reasoning_item(id: &str, summary: &str) -> Value {
    let summary = if summary.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": summary}])
    };
    json!({"id": id, "type": "reasoning", "summary": summary})
}

pub fn function_call_item(id: &str, status: &str, call: &FunctionCall) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "call_id": call.call_id,
           "name": call.name, "arguments": call.arguments})
}

/// Build the message item's content parts: the text, then the refusal, each when present.
pub fn message_content(model_output: &ModelOutput) -> Vec<Value> {
    let mut content = Vec::new();
    if !model_output.text.is_empty() || model_output.refusal.is_empty() {
        content.push(output_text_part(&model_output.text));
    }
    if !model_output.refusal.is_empty() {
        content.push(refusal_part(&model_output.refusal));
    }
    content
}

/// Build the output items of a whole turn, in the order reasoning, message, function calls.
pub fn output_items(model_output: &ModelOutput, mint: MintId<'_>) -> Vec<Value> {
    let item_status = match model_output.status().0 {
        "incomplete" => "incomplete",
        _ => "completed",
    };
    let mut items = Vec::new();
    if !model_output.reasoning.is_empty() {
        items.push(reasoning_item(&mint("rs"), &model_output.reasoning));
    }
    if model_output.has_message() {
        items.push(message_item(
            &mint("msg"),
            item_status,
            message_content(model_output),
        ));
    }
    for call in &model_output.function_calls {
        items.push(function_call_item(&mint("fc"), "completed", call));
    }
    items
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Ids `prefix_1`, `prefix_2`, … in order, for tests.
    pub fn counter() -> impl FnMut(&str) -> String {
        let mut next = 0;
        move |prefix: &str| {
            next += 1;
            format!("{prefix}_{next}")
        }
    }

    pub fn settings() -> Settings {
        Settings {
            instructions: Value::Null,
            max_output_tokens: Value::Null,
            metadata: json!({}),
            parallel_tool_calls: true,
            previous_response_id: Value::Null,
            reasoning: json!({"effort": null, "summary": null}),
            service_tier: json!("auto"),
            store: true,
            temperature: json!(1.0),
            text: json!({"format": {"type": "text"}}),
            tool_choice: json!("auto"),
            tools: json!([]),
            top_p: json!(1.0),
            user: Value::Null,
            safety_identifier: Value::Null,
            prompt_cache_key: Value::Null,
        }
    }

    #[test]
    fn items_in_canonical_order() {
        let model_output = ModelOutput {
            reasoning: "Think".into(),
            text: "Hi".into(),
            function_calls: vec![FunctionCall {
                call_id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
                extra_content: None,
            }],
            finish_reason: Some("tool_calls".into()),
            ..ModelOutput::default()
        };
        let mut mint = counter();
        let items = output_items(&model_output, &mut mint);
        assert_eq!(
            items,
            vec![
                json!({"id": "rs_1", "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": "Think"}]}),
                json!({"id": "msg_2", "type": "message", "status": "completed",
                    "role": "assistant", "content": [{"type": "output_text", "text": "Hi",
                    "annotations": [], "logprobs": []}]}),
                json!({"id": "fc_3", "type": "function_call", "status": "completed",
                    "call_id": "call_1", "name": "f", "arguments": "{}"}),
            ]
        );
    }

    #[test]
    fn truncated_message_incomplete() {
        let model_output = ModelOutput {
            text: "Partial".into(),
            finish_reason: Some("length".into()),
            ..ModelOutput::default()
        };
        let items = output_items(&model_output, &mut counter());
        assert_eq!(items[0]["status"], "incomplete");
        let header = Header {
            id: "resp_1".into(),
            created_at: 10,
            model: "m".into(),
            settings: settings(),
        };
        let object = header.render(
            &Ending::of(&model_output, 11),
            items,
            Some(&Usage::default()),
        );
        assert_eq!(object["status"], "incomplete");
        assert_eq!(
            object["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        assert_eq!(object["output_text"], "Partial");
        assert_eq!(object["completed_at"], 11);
        assert_eq!(object["usage"]["total_tokens"], 0);
    }

    #[test]
    fn empty_answer_has_empty_message() {
        let items = output_items(&ModelOutput::default(), &mut counter());
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["content"][0]["text"], "");
    }
}
