//! OpenAI chat request to Anthropic Messages request.

use serde_json::{json, Map, Value};

use super::ANSWER_TOOL;
use crate::error::GatewayError;
use crate::translate::chat::{
    invalid, unsupported, AssistantTurn, ChatInput, Media, Message, Part, ResponseFormat,
    ToolChoice,
};
use crate::translate::CallContext;

/// Image types Anthropic accepts in base64 image blocks.
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Anthropic's minimum thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;

/// Build the Messages API body for `input`.
pub fn build_body(input: &ChatInput, ctx: &CallContext<'_>) -> Result<Value, GatewayError> {
    reject_unsupported(input)?;
    input.check_tool_choice()?;

    let mut body = Map::new();
    body.insert("model".into(), ctx.upstream_model.into());

    let system = system_prompt(&input.messages);
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages(&input.messages)?);

    let (max_tokens, thinking) = output_limits(input, ctx)?;
    body.insert("max_tokens".into(), max_tokens.into());
    if let Some(budget) = thinking {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    add_tools(input, thinking.is_some(), &mut body)?;

    if let Some(temperature) = input.temperature {
        // OpenAI accepts 0 to 2, Anthropic 0 to 1: values above 1 are capped at 1.
        body.insert("temperature".into(), temperature.min(1.0).into());
    }
    if let Some(top_p) = input.top_p {
        body.insert("top_p".into(), top_p.into());
    }
    if let Some(top_k) = input.top_k {
        body.insert("top_k".into(), top_k.into());
    }
    if !input.stop.is_empty() {
        body.insert("stop_sequences".into(), input.stop.clone().into());
    }
    if let Some(user) = &input.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    if ctx.stream {
        body.insert("stream".into(), true.into());
    }
    Ok(Value::Object(body))
}

fn reject_unsupported(input: &ChatInput) -> Result<(), GatewayError> {
    if input.n.is_some_and(|n| n > 1) {
        return Err(unsupported(
            "n",
            "Anthropic models return one choice; n must be 1",
        ));
    }
    for (name, value) in [
        ("frequency_penalty", input.frequency_penalty),
        ("presence_penalty", input.presence_penalty),
    ] {
        if value.is_some_and(|v| v != 0.0) {
            return Err(unsupported(
                name,
                format!("Anthropic models do not support {name}"),
            ));
        }
    }
    if input.tools.iter().any(|tool| tool.name == ANSWER_TOOL) {
        return Err(invalid(
            "tools",
            format!("the function name {ANSWER_TOOL} is reserved for response_format on Anthropic models"),
        ));
    }
    Ok(())
}

/// Every system and developer message, in order, joined by blank lines.
fn system_prompt(messages: &[Message]) -> String {
    let texts: Vec<&str> = messages
        .iter()
        .filter_map(|m| match m {
            Message::System(text) if !text.is_empty() => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n\n")
}

/// `max_tokens` and the thinking budget. OpenAI's limit covers reasoning too, so a client limit
/// bounds both; without one, the catalog default is left for the visible answer.
fn output_limits(
    input: &ChatInput,
    ctx: &CallContext<'_>,
) -> Result<(u32, Option<u32>), GatewayError> {
    let effort = input.reasoning_effort.map_or(0, |e| e.budget_tokens());
    if effort < MIN_THINKING_BUDGET {
        return Ok((input.max_tokens.unwrap_or(ctx.default_max_tokens), None));
    }
    let Some(max_tokens) = input.max_tokens else {
        return Ok((ctx.default_max_tokens.saturating_add(effort), Some(effort)));
    };
    let budget = effort.min(max_tokens.saturating_sub(1));
    if budget < MIN_THINKING_BUDGET {
        let param = input.max_tokens_param;
        return Err(invalid(
            param,
            format!(
                "with reasoning_effort, {param} must be at least {} for Anthropic models",
                MIN_THINKING_BUDGET + 1
            ),
        ));
    }
    Ok((max_tokens, Some(budget)))
}

/// Turns in order, with tool results in user turns and same-role neighbours merged.
fn messages(messages: &[Message]) -> Result<Value, GatewayError> {
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let (role, blocks) = match message {
            Message::System(_) => continue,
            Message::User(parts) => ("user", user_blocks(parts, i)?),
            Message::Assistant(turn) => ("assistant", assistant_blocks(turn)),
            Message::Tool { call_id, content } => {
                let mut block = json!({"type": "tool_result", "tool_use_id": call_id});
                if !content.is_empty() {
                    block["content"] = content.clone().into();
                }
                ("user", vec![block])
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let turns = turns
        .into_iter()
        .map(|(role, mut blocks)| {
            // Anthropic wants tool results before any other block of the user turn.
            blocks.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
            json!({"role": role, "content": blocks})
        })
        .collect();
    Ok(Value::Array(turns))
}

fn user_blocks(parts: &[Part], message: usize) -> Result<Vec<Value>, GatewayError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let param = format!("messages[{message}].content[{i}]");
        let block = match part {
            Part::Text(text) => json!({"type": "text", "text": text}),
            Part::Image(Media::Url(url)) => {
                json!({"type": "image", "source": {"type": "url", "url": url}})
            }
            Part::Image(Media::Inline { mime_type, data }) => {
                if !IMAGE_TYPES.contains(&mime_type.as_str()) {
                    return Err(invalid(
                        &param,
                        format!("Anthropic models accept JPEG, PNG, GIF and WebP images, not {mime_type}"),
                    ));
                }
                json!({"type": "image", "source": {"type": "base64", "media_type": mime_type, "data": data}})
            }
            Part::File(Media::Inline { mime_type, data }) if mime_type == "application/pdf" => {
                json!({"type": "document", "source": {"type": "base64", "media_type": mime_type, "data": data}})
            }
            Part::File(_) => {
                return Err(invalid(&param, "Anthropic models accept PDF files only"));
            }
        };
        blocks.push(block);
    }
    Ok(blocks)
}

fn assistant_blocks(turn: &AssistantTurn) -> Vec<Value> {
    let mut blocks = turn.thinking_blocks.clone();
    if !turn.text.is_empty() {
        blocks.push(json!({"type": "text", "text": turn.text}));
    }
    for call in &turn.tool_calls {
        blocks.push(
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}),
        );
    }
    blocks
}

/// `tools` and `tool_choice`, including the forced answer tool that carries `response_format`.
fn add_tools(
    input: &ChatInput,
    thinking: bool,
    body: &mut Map<String, Value>,
) -> Result<(), GatewayError> {
    let answer_schema = answer_schema(input.response_format.as_ref())?;
    if answer_schema.is_some() && thinking {
        return Err(unsupported(
            "response_format",
            "Anthropic models cannot combine response_format with reasoning_effort",
        ));
    }

    let allowed = match &input.tool_choice {
        Some(ToolChoice::Allowed { names, .. }) => Some(names),
        _ => None,
    };
    let mut tools: Vec<Value> = input
        .tools
        .iter()
        .filter(|tool| allowed.is_none_or(|names| names.contains(&tool.name)))
        .map(|tool| {
            let schema = tool
                .parameters
                .clone()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            let mut out = json!({"name": tool.name, "input_schema": schema});
            if let Some(description) = &tool.description {
                out["description"] = description.clone().into();
            }
            out
        })
        .collect();

    let choice = match (&input.tool_choice, tools.is_empty()) {
        (_, true) => None,
        (None | Some(ToolChoice::Auto), false) => Some(json!({"type": "auto"})),
        (Some(ToolChoice::None), false) => Some(json!({"type": "none"})),
        (Some(ToolChoice::Required), false) => Some(json!({"type": "any"})),
        (Some(ToolChoice::Function(name)), false) => Some(json!({"type": "tool", "name": name})),
        (Some(ToolChoice::Allowed { required: true, .. }), false) => Some(json!({"type": "any"})),
        (
            Some(ToolChoice::Allowed {
                required: false, ..
            }),
            false,
        ) => Some(json!({"type": "auto"})),
    };

    // The answer tool is added only when the model may end the turn without a caller tool:
    // with no tools or tool_choice none it is forced, with auto it joins the caller's tools.
    let choice = match (
        answer_schema,
        choice
            .as_ref()
            .and_then(|c| c.get("type"))
            .and_then(Value::as_str),
    ) {
        (None, _) => choice,
        (Some(schema), kind @ (None | Some("none") | Some("auto"))) => {
            tools.push(json!({
                "name": ANSWER_TOOL,
                "description": "Give the final answer to the user as JSON matching the input schema.",
                "input_schema": schema,
            }));
            match kind {
                Some("auto") => Some(json!({"type": "any"})),
                _ => Some(json!({"type": "tool", "name": ANSWER_TOOL})),
            }
        }
        (Some(_), _) => choice,
    };

    let Some(mut choice) = choice else {
        return Ok(());
    };
    if input.parallel_tool_calls == Some(false) && choice["type"] != "none" {
        choice["disable_parallel_tool_use"] = true.into();
    }
    body.insert("tools".into(), tools.into());
    body.insert("tool_choice".into(), choice);
    Ok(())
}

/// The input schema of the answer tool, when the client asked for JSON output.
fn answer_schema(format: Option<&ResponseFormat>) -> Result<Option<Value>, GatewayError> {
    match format {
        None | Some(ResponseFormat::Text) => Ok(None),
        Some(ResponseFormat::JsonObject) => Ok(Some(json!({"type": "object"}))),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            let root = schema.get("type").and_then(Value::as_str);
            if root.is_some_and(|t| t != "object") {
                return Err(unsupported(
                    "response_format",
                    "Anthropic models need a json_schema whose root type is object",
                ));
            }
            let mut schema = schema.clone();
            schema["type"] = "object".into();
            Ok(Some(schema))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::chat::ChatInput;

    pub(crate) fn ctx() -> CallContext<'static> {
        CallContext {
            upstream_model: "claude-test",
            client_model: "claude-test",
            base_url: "https://api.anthropic.com/v1",
            api_key: "sk-ant-test",
            default_max_tokens: 4096,
            stream: false,
            include_usage: false,
            request_id: "req_test",
            created: 1_700_000_000,
        }
    }

    fn build(request: Value) -> Result<Value, GatewayError> {
        let input = ChatInput::parse(request.as_object().unwrap())?;
        build_body(&input, &ctx())
    }

    #[test]
    fn system_and_developer_messages_joined_in_order() {
        let body = build(json!({"model": "m", "messages": [
            {"role": "system", "content": "First rule."},
            {"role": "user", "content": "Hello"},
            {"role": "system", "content": [{"type": "text", "text": "Second rule."}]},
            {"role": "developer", "content": "Third rule."}
        ]}))
        .unwrap();
        assert_eq!(body["system"], "First rule.\n\nSecond rule.\n\nThird rule.");
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "Hello"}]}])
        );
    }

    #[test]
    fn n_above_one_rejected() {
        let err =
            build(json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "hi"}]}))
                .unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.param.as_deref(), Some("n"));
        assert!(err.message.contains("n must be 1"), "{}", err.message);
    }

    #[test]
    fn default_max_tokens_used() {
        let body =
            build(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})).unwrap();
        assert_eq!(body["max_tokens"], 4096);
    }

    #[test]
    fn temperature_capped_at_one() {
        let body =
            build(json!({"model": "m", "temperature": 1.6, "messages": [{"role": "user", "content": "hi"}]})).unwrap();
        assert_eq!(body["temperature"], 1.0);
        let body =
            build(json!({"model": "m", "temperature": 0.3, "messages": [{"role": "user", "content": "hi"}]})).unwrap();
        assert_eq!(body["temperature"], 0.3);
    }

    #[test]
    fn thinking_budget_fits_client_limit() {
        let body = build(
            json!({"model": "m", "reasoning_effort": "high", "max_completion_tokens": 3000,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .unwrap();
        assert_eq!(body["max_tokens"], 3000);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2999})
        );
        let err = build(
            json!({"model": "m", "reasoning_effort": "low", "max_completion_tokens": 1000,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("max_completion_tokens"));
    }

    #[test]
    fn tool_results_lead_user_turn() {
        let body = build(json!({"model": "m", "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "user", "content": "quickly"},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}
        ]}))
        .unwrap();
        let last = &body["messages"][2];
        assert_eq!(last["role"], "user");
        assert_eq!(last["content"][0]["type"], "tool_result");
        assert_eq!(last["content"][1]["text"], "quickly");
    }
}
