//! Input items: checked, given ids, and turned into chat messages.
//!
//! | Responses item | chat message |
//! |---|---|
//! | `message` with role `user` | `user` message; `input_text` → `text`, `input_image` → `image_url`, `input_file` with `file_data` → `file` |
//! | `message` with role `system` or `developer` | the same role, text only |
//! | `message` with role `assistant` | `assistant` message with the text of its parts |
//! | `function_call` | a tool call on the preceding assistant message, or on a new one |
//! | `function_call_output` | `tool` message |
//! | `reasoning` | kept in the listing, not sent: reasoning replays only through `previous_response_id` |
//!
//! Anything else (hosted tool calls, `item_reference`, file ids) gets 400 naming the item.

use serde_json::{json, Map, Value};

use super::object::MintId;
use super::request::{invalid, unsupported};
use crate::error::GatewayError;

/// This turn's input, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnInput {
    /// The input items with ids, as `input_items` lists them.
    pub items: Vec<Value>,
    /// The chat messages of the input.
    pub messages: Vec<Value>,
    /// For each message, the index of the input item it started from.
    pub origins: Vec<usize>,
}

/// Check `items`, give each an id when it has none, and build the chat messages.
pub fn read_input(items: &[Value], mint: MintId<'_>) -> Result<TurnInput, GatewayError> {
    let mut turn = TurnInput::default();
    for (index, item) in items.iter().enumerate() {
        let param = format!("input[{index}]");
        let Some(item) = item.as_object() else {
            return Err(invalid(&param, "each input item must be an object"));
        };
        let kind = match item.get("type") {
            None | Some(Value::Null) => "message",
            Some(Value::String(kind)) => kind.as_str(),
            Some(_) => return Err(invalid(&format!("{param}.type"), "`type` must be a string")),
        };
        let listed = match kind {
            "message" => message(item, &param, index, &mut turn, mint)?,
            "function_call" => function_call(item, &param, index, &mut turn, mint)?,
            "function_call_output" => function_call_output(item, &param, index, &mut turn, mint)?,
            "reasoning" => with_id(item, "rs", mint),
            "item_reference" => {
                return Err(unsupported(
                    &param,
                    "item references are not supported; chain with previous_response_id instead",
                ))
            }
            other => {
                return Err(unsupported(
                    &param,
                    format!("input items of type {other:?} are not supported"),
                ))
            }
        };
        turn.items.push(listed);
    }
    Ok(turn)
}

/// Return the item as given, with an `id` minted when it has none.
fn with_id(item: &Map<String, Value>, prefix: &str, mint: MintId<'_>) -> Value {
    let mut listed = item.clone();
    if !listed.get("id").is_some_and(Value::is_string) {
        listed.insert("id".into(), Value::String(mint(prefix)));
    }
    Value::Object(listed)
}

fn required_str<'a>(
    item: &'a Map<String, Value>,
    field: &str,
    param: &str,
) -> Result<&'a str, GatewayError> {
    item.get(field).and_then(Value::as_str).ok_or_else(|| {
        invalid(
            &format!("{param}.{field}"),
            format!("`{field}` is required and must be a string"),
        )
    })
}

fn push(turn: &mut TurnInput, message: Value, index: usize) {
    turn.messages.push(message);
    turn.origins.push(index);
}

fn message(
    item: &Map<String, Value>,
    param: &str,
    index: usize,
    turn: &mut TurnInput,
    mint: MintId<'_>,
) -> Result<Value, GatewayError> {
    let role = required_str(item, "role", param)?;
    let content = item.get("content").filter(|c| !c.is_null());
    let content_param = format!("{param}.content");
    let Some(content) = content else {
        return Err(invalid(&content_param, "a message needs `content`"));
    };
    let (chat_content, parts) = match role {
        "user" => user_content(content, &content_param)?,
        "system" | "developer" => {
            let text = text_content(content, &content_param, &["input_text"])?;
            (
                Value::String(text.clone()),
                vec![json!({"type": "input_text", "text": text})],
            )
        }
        "assistant" => {
            let text = text_content(
                content,
                &content_param,
                &["output_text", "input_text", "refusal"],
            )?;
            let parts = match content {
                Value::Array(parts) => parts.clone(),
                _ => vec![json!({"type": "output_text", "text": text, "annotations": []})],
            };
            (Value::String(text), parts)
        }
        _ => {
            return Err(invalid(
                &format!("{param}.role"),
                "`role` must be user, assistant, system or developer",
            ))
        }
    };
    push(turn, json!({"role": role, "content": chat_content}), index);

    let mut listed = item.clone();
    listed.insert("type".into(), "message".into());
    listed.insert("content".into(), Value::Array(parts));
    if role == "assistant" && !listed.contains_key("status") {
        listed.insert("status".into(), "completed".into());
    }
    Ok(with_id(&listed, "msg", mint))
}

/// Join the text of `content`, a string or an array of parts of the `allowed` types.
fn text_content(content: &Value, param: &str, allowed: &[&str]) -> Result<String, GatewayError> {
    let parts = match content {
        Value::String(text) => return Ok(text.clone()),
        Value::Array(parts) => parts,
        _ => {
            return Err(invalid(
                param,
                "`content` must be a string or an array of parts",
            ))
        }
    };
    let mut text = String::new();
    for (index, part) in parts.iter().enumerate() {
        let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
        let field = if kind == "refusal" { "refusal" } else { "text" };
        match part.get(field).and_then(Value::as_str) {
            Some(piece) if allowed.contains(&kind) => text.push_str(piece),
            _ => {
                return Err(invalid(
                    &format!("{param}[{index}]"),
                    format!(
                        "this message may only contain parts of type {}",
                        allowed.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(text)
}

/// Translate a user message's content into chat content, and return its parts as
/// `input_items` lists them.
fn user_content(content: &Value, param: &str) -> Result<(Value, Vec<Value>), GatewayError> {
    let parts = match content {
        Value::String(text) => {
            return Ok((
                Value::String(text.clone()),
                vec![json!({"type": "input_text", "text": text})],
            ))
        }
        Value::Array(parts) if !parts.is_empty() => parts,
        _ => {
            return Err(invalid(
                param,
                "`content` must be a string or a non-empty array of parts",
            ))
        }
    };
    let chat_parts = parts
        .iter()
        .enumerate()
        .map(|(index, part)| user_part(part, &format!("{param}[{index}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Value::Array(chat_parts), parts.clone()))
}

fn user_part(part: &Value, param: &str) -> Result<Value, GatewayError> {
    let Some(part) = part.as_object() else {
        return Err(invalid(param, "each content part must be an object"));
    };
    let present = |field: &str| part.get(field).is_some_and(|v| !v.is_null());
    match part.get("type").and_then(Value::as_str) {
        Some("input_text") => {
            let text = required_str(part, "text", param)?;
            Ok(json!({"type": "text", "text": text}))
        }
        Some("input_image") => {
            if present("file_id") {
                return Err(unsupported(
                    param,
                    "images by file_id are not supported; send image_url",
                ));
            }
            let url = required_str(part, "image_url", param)?;
            let mut image = json!({"url": url});
            if let Some(detail) = part.get("detail").filter(|d| !d.is_null()) {
                image["detail"] = detail.clone();
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        Some("input_file") => {
            if present("file_id") || present("file_url") {
                return Err(unsupported(
                    param,
                    "files by file_id or file_url are not supported; send file_data",
                ));
            }
            let data = required_str(part, "file_data", param)?;
            let mut file = json!({"file_data": data});
            if let Some(name) = part.get("filename").filter(|n| !n.is_null()) {
                file["filename"] = name.clone();
            }
            Ok(json!({"type": "file", "file": file}))
        }
        Some("input_audio") => Err(unsupported(param, "audio input is not supported")),
        _ => Err(invalid(
            param,
            "content parts must be input_text, input_image or input_file",
        )),
    }
}

fn function_call(
    item: &Map<String, Value>,
    param: &str,
    index: usize,
    turn: &mut TurnInput,
    mint: MintId<'_>,
) -> Result<Value, GatewayError> {
    let call_id = required_str(item, "call_id", param)?;
    let name = required_str(item, "name", param)?;
    let arguments = required_str(item, "arguments", param)?;
    let call = json!({"id": call_id, "type": "function",
                      "function": {"name": name, "arguments": arguments}});
    // Calls extend the assistant message right before them, so that one model turn of text and
    // parallel calls stays one chat message.
    match turn.messages.last_mut() {
        Some(last) if last["role"] == "assistant" => {
            match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                Some(calls) => calls.push(call),
                None => last["tool_calls"] = json!([call]),
            }
        }
        _ => push(
            turn,
            json!({"role": "assistant", "content": null, "tool_calls": [call]}),
            index,
        ),
    }
    let mut listed = item.clone();
    listed.entry("status").or_insert_with(|| "completed".into());
    Ok(with_id(&listed, "fc", mint))
}

fn function_call_output(
    item: &Map<String, Value>,
    param: &str,
    index: usize,
    turn: &mut TurnInput,
    mint: MintId<'_>,
) -> Result<Value, GatewayError> {
    let call_id = required_str(item, "call_id", param)?;
    let output_param = format!("{param}.output");
    let output = match item.get("output") {
        Some(Value::String(text)) => text.clone(),
        Some(parts @ Value::Array(_)) => text_content(parts, &output_param, &["input_text"])?,
        _ => {
            return Err(invalid(
                &output_param,
                "`output` is required and must be a string or an array of input_text parts",
            ))
        }
    };
    push(
        turn,
        json!({"role": "tool", "tool_call_id": call_id, "content": output}),
        index,
    );
    let mut listed = item.clone();
    listed.entry("status").or_insert_with(|| "completed".into());
    Ok(with_id(&listed, "fco", mint))
}

#[cfg(test)]
mod tests {
    use super::super::object::tests::counter;
    use super::*;

    fn read(items: Value) -> Result<TurnInput, GatewayError> {
        read_input(items.as_array().unwrap(), &mut counter())
    }

    #[test]
    fn user_message_parts_translated() {
        let turn = read(json!([{"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,AA==",
             "filename": "a.pdf"}]}]))
        .unwrap();
        assert_eq!(
            turn.messages,
            vec![json!({"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA==",
                                          "filename": "a.pdf"}}]})]
        );
        assert_eq!(turn.items[0]["id"], "msg_1");
        assert_eq!(turn.items[0]["type"], "message");
    }

    #[test]
    fn string_content_listed_as_input_text() {
        let turn = read(json!([{"role": "user", "content": "Hi", "id": "msg_given"}])).unwrap();
        assert_eq!(
            turn.items,
            vec![json!({"id": "msg_given", "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "Hi"}]})]
        );
        assert_eq!(
            turn.messages,
            vec![json!({"role": "user", "content": "Hi"})]
        );
    }

    #[test]
    fn calls_join_preceding_assistant_message() {
        let turn = read(json!([
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "Checking."},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{\"x\":1}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {"type": "function_call_output", "call_id": "c2",
             "output": [{"type": "input_text", "text": "rain"}]},
            {"type": "reasoning", "summary": []},
        ]))
        .unwrap();
        assert_eq!(
            turn.messages,
            vec![
                json!({"role": "user", "content": "Weather?"}),
                json!({"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}},
                    {"id": "c2", "type": "function",
                     "function": {"name": "w", "arguments": "{\"x\":1}"}}]}),
                json!({"role": "tool", "tool_call_id": "c1", "content": "sunny"}),
                json!({"role": "tool", "tool_call_id": "c2", "content": "rain"}),
            ]
        );
        assert_eq!(turn.origins, vec![0, 1, 4, 5]);
        let ids: Vec<&str> = turn
            .items
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["msg_1", "msg_2", "fc_3", "fc_4", "fco_5", "fco_6", "rs_7"]
        );
    }

    #[test]
    fn lone_call_starts_assistant_message() {
        let turn = read(json!([
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        ]))
        .unwrap();
        assert_eq!(turn.messages[0]["content"], Value::Null);
        assert_eq!(turn.messages[0]["tool_calls"][0]["id"], "c1");
    }

    #[test]
    fn invalid_items_name_the_param() {
        let cases = [
            (
                json!([{"content": "x"}]),
                "invalid_request",
                "input[0].role",
            ),
            (
                json!([{"role": "user"}]),
                "invalid_request",
                "input[0].content",
            ),
            (
                json!([{"role": "robot", "content": "x"}]),
                "invalid_request",
                "input[0].role",
            ),
            (
                json!([{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]),
                "unsupported_parameter",
                "input[0].content[0]",
            ),
            (
                json!([{"role": "system", "content": [{"type": "input_image", "image_url": "u"}]}]),
                "invalid_request",
                "input[0].content[0]",
            ),
            (
                json!([{"type": "function_call", "name": "f", "arguments": "{}"}]),
                "invalid_request",
                "input[0].call_id",
            ),
            (
                json!([{"type": "function_call_output", "call_id": "c"}]),
                "invalid_request",
                "input[0].output",
            ),
            (
                json!([{"type": "web_search_call"}]),
                "unsupported_parameter",
                "input[0]",
            ),
            (
                json!([{"type": "item_reference", "id": "x"}]),
                "unsupported_parameter",
                "input[0]",
            ),
        ];
        for (items, code, param) in cases {
            let err = read(items.clone()).unwrap_err();
            assert_eq!(err.code, code, "{items}");
            assert_eq!(err.param.as_deref(), Some(param), "{items}");
        }
    }
}
