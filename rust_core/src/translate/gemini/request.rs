//! OpenAI chat request to Gemini `generateContent` request.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::MINTED_ID_PREFIX;
use crate::error::GatewayError;
use crate::translate::chat::{
    invalid, unsupported, AssistantTurn, ChatInput, Media, Message, Part, ReasoningEffort,
    ResponseFormat, ToolChoice,
};

/// Gemini accepts at most five stop sequences.
const MAX_STOP_SEQUENCES: usize = 5;

/// Image types Gemini reads, by the file extension of an image URL.
const IMAGE_EXTENSIONS: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
];

/// Build the `generateContent` body for `input`; streamed and plain calls share it.
pub fn build_body(input: &ChatInput) -> Result<Value, GatewayError> {
    input.check_tool_choice()?;
    let mut body = Map::new();
    body.insert("contents".into(), contents(&input.messages)?);

    let system: Vec<&str> = input
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System(text) if !text.is_empty() => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if !system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system.join("\n\n")}]}),
        );
    }

    if !input.tools.is_empty() {
        let declarations: Vec<Value> = input
            .tools
            .iter()
            .map(|tool| {
                let mut declaration = json!({"name": tool.name});
                if let Some(description) = &tool.description {
                    declaration["description"] = description.clone().into();
                }
                if let Some(parameters) = &tool.parameters {
                    declaration["parametersJsonSchema"] = parameters.clone();
                }
                declaration
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
        if let Some(config) = tool_config(input.tool_choice.as_ref()) {
            body.insert(
                "toolConfig".into(),
                json!({"functionCallingConfig": config}),
            );
        }
    }

    let config = generation_config(input)?;
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Ok(Value::Object(body))
}

fn tool_config(choice: Option<&ToolChoice>) -> Option<Value> {
    Some(match choice? {
        ToolChoice::None => json!({"mode": "NONE"}),
        ToolChoice::Auto => json!({"mode": "AUTO"}),
        ToolChoice::Required => json!({"mode": "ANY"}),
        ToolChoice::Function(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        ToolChoice::Allowed { names, required } => {
            let mode = if *required { "ANY" } else { "AUTO" };
            json!({"mode": mode, "allowedFunctionNames": names})
        }
    })
}

fn generation_config(input: &ChatInput) -> Result<Map<String, Value>, GatewayError> {
    if input.stop.len() > MAX_STOP_SEQUENCES {
        let message = format!(
            "Gemini models accept at most {MAX_STOP_SEQUENCES} stop sequences, got {}",
            input.stop.len()
        );
        return Err(unsupported("stop", message));
    }

    let mut config = Map::new();
    let numbers = [
        ("temperature", input.temperature),
        ("topP", input.top_p),
        ("presencePenalty", input.presence_penalty),
        ("frequencyPenalty", input.frequency_penalty),
    ];
    for (key, value) in numbers {
        if let Some(value) = value {
            config.insert(key.into(), value.into());
        }
    }
    let integers = [
        ("topK", input.top_k.map(i64::from)),
        ("candidateCount", input.n.filter(|n| *n > 1).map(i64::from)),
        ("maxOutputTokens", input.max_tokens.map(i64::from)),
        ("seed", input.seed),
    ];
    for (key, value) in integers {
        if let Some(value) = value {
            config.insert(key.into(), value.into());
        }
    }
    if !input.stop.is_empty() {
        config.insert("stopSequences".into(), input.stop.clone().into());
    }

    match &input.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), "application/json".into());
            config.insert("responseJsonSchema".into(), schema.clone());
        }
    }

    let thinking = match input.reasoning_effort {
        None => None,
        Some(ReasoningEffort::None) => Some(json!({"thinkingBudget": 0})),
        Some(effort) => {
            Some(json!({"thinkingBudget": effort.budget_tokens(), "includeThoughts": true}))
        }
    };
    if let Some(thinking) = thinking {
        config.insert("thinkingConfig".into(), thinking);
    }
    Ok(config)
}

/// Turns in order, with same-role neighbours merged; tool results become `functionResponse`
/// parts named after the call they answer.
fn contents(messages: &[Message]) -> Result<Value, GatewayError> {
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let (role, parts) = match message {
            Message::System(_) => continue,
            Message::User(parts) => ("user", user_parts(parts, i)?),
            Message::Assistant(turn) => {
                for call in &turn.tool_calls {
                    call_names.insert(&call.id, &call.name);
                }
                ("model", model_parts(turn))
            }
            Message::Tool { call_id, content } => {
                let Some(name) = call_names.get(call_id.as_str()) else {
                    return Err(invalid(
                        &format!("messages[{i}].tool_call_id"),
                        format!("no earlier assistant tool call has the id {call_id:?}"),
                    ));
                };
                ("user", vec![function_response(call_id, name, content)])
            }
        };
        if parts.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => turns.push((role, parts)),
        }
    }
    Ok(turns
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect())
}

/// Ids the gateway minted, or that came from OpenAI, are not sent: Gemini matches a response
/// to its call by name and order. Ids Gemini itself gave are sent back unchanged.
fn gemini_id(id: &str) -> Option<&str> {
    (!id.starts_with(MINTED_ID_PREFIX)).then_some(id)
}

/// A tool result: a JSON object result is passed as the response, anything else is wrapped
/// as `{"content": text}` because Gemini's response must be an object.
fn function_response(call_id: &str, name: &str, content: &str) -> Value {
    let response = match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(object)) => Value::Object(object),
        _ => json!({"content": content}),
    };
    let mut part = json!({"name": name, "response": response});
    if let Some(id) = gemini_id(call_id) {
        part["id"] = id.into();
    }
    json!({"functionResponse": part})
}

fn model_parts(turn: &AssistantTurn) -> Vec<Value> {
    let mut parts = Vec::new();
    if !turn.text.is_empty() {
        parts.push(json!({"text": turn.text}));
    }
    for call in &turn.tool_calls {
        let mut function_call = json!({"name": call.name, "args": call.arguments});
        if let Some(id) = gemini_id(&call.id) {
            function_call["id"] = id.into();
        }
        let mut part = json!({"functionCall": function_call});
        if let Some(signature) = &call.thought_signature {
            part["thoughtSignature"] = signature.clone().into();
        }
        parts.push(part);
    }
    parts
}

fn user_parts(parts: &[Part], message: usize) -> Result<Vec<Value>, GatewayError> {
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let value = match part {
            Part::Text(text) => json!({"text": text}),
            Part::Image(Media::Inline { mime_type, data })
            | Part::File(Media::Inline { mime_type, data }) => {
                json!({"inlineData": {"mimeType": mime_type, "data": data}})
            }
            Part::Image(Media::Url(url)) => {
                let param = format!("messages[{message}].content[{i}].image_url.url");
                json!({"fileData": {"mimeType": image_type(url, &param)?, "fileUri": url}})
            }
            Part::File(Media::Url(_)) => {
                return Err(invalid(
                    &format!("messages[{message}].content[{i}]"),
                    "file_data must be a data: URL",
                ));
            }
        };
        out.push(value);
    }
    Ok(out)
}

/// The media type of an image URL, from the extension of its path.
fn image_type(url: &str, param: &str) -> Result<&'static str, GatewayError> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    let found = IMAGE_EXTENSIONS
        .iter()
        .find(|(ext, _)| extension.as_deref() == Some(*ext))
        .map(|(_, mime)| *mime);
    found.ok_or_else(|| {
        unsupported(
            param,
            "Gemini needs the image type: use a URL ending in .png, .jpg, .jpeg, .webp, .heic or .heif, \
             or send the image as a base64 data: URL",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(request: Value) -> Result<Value, GatewayError> {
        build_body(&ChatInput::parse(request.as_object().unwrap())?)
    }

    #[test]
    fn tool_result_named_after_its_call() {
        let body = build(json!({"model": "m", "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [{"id": "call_abc", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "sunny"}
        ]}))
        .unwrap();
        assert_eq!(
            body["contents"][2],
            json!({"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"content": "sunny"}}}]})
        );
        assert_eq!(
            body["contents"][1]["parts"][0]["functionCall"],
            json!({"name": "weather", "args": {"city": "Oslo"}})
        );
    }

    #[test]
    fn unknown_tool_call_id_rejected() {
        let err = build(json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "nope", "content": "x"}
        ]}))
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("messages[1].tool_call_id"));
    }

    #[test]
    fn image_url_type_from_extension() {
        assert_eq!(
            image_type("https://x.test/a/cat.JPG?size=2", "p").unwrap(),
            "image/jpeg"
        );
        assert!(image_type("https://x.test/cat", "p").is_err());
    }

    #[test]
    fn too_many_stop_sequences_rejected() {
        let err = build(json!({"model": "m", "stop": ["a", "b", "c", "d", "e", "f"],
            "messages": [{"role": "user", "content": "hi"}]}))
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("stop"));
    }
}
