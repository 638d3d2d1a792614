//! Reading an OpenAI chat-completions request into checked, typed parts.
//!
//! Every adapter that speaks a non-OpenAI wire format starts here, so the
//! OpenAI-level rules (types, ranges, which fields exist) are checked once and
//! each error names the offending field in `param`. Provider-specific rules
//! (what Anthropic or Gemini cannot honour) stay in the adapters.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::GatewayError;

/// Every top-level request field the translating adapters recognise. Any other field is
/// rejected with 400 rather than dropped, as OpenAI itself does.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "n",
    "stop",
    "seed",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "logprobs",
    "top_logprobs",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "metadata",
    "store",
    "service_tier",
    "verbosity",
    "modalities",
    "audio",
    "prediction",
    "web_search_options",
    "functions",
    "function_call",
];

/// One conversation message after role-specific checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A `system` or `developer` message, its text parts joined.
    System(String),
    User(Vec<Part>),
    Assistant(AssistantTurn),
    Tool {
        call_id: String,
        content: String,
    },
}

/// One piece of user content.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Text(String),
    Image(Media),
    /// A document sent as `file.file_data`, such as a PDF.
    File(Media),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Media {
    /// Base64 data from a `data:` URL.
    Inline { mime_type: String, data: String },
    /// An `http` or `https` URL.
    Url(String),
}

/// A prior assistant turn sent back by the client.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssistantTurn {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// Anthropic thinking blocks returned earlier under `thinking_blocks`, replayed unchanged.
    pub thinking_blocks: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments parsed from their JSON string; always an object.
    pub arguments: Map<String, Value>,
    /// Gemini's `thoughtSignature`, carried in `extra_content.google.thought_signature`.
    pub thought_signature: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionTool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments; `None` when the tool takes none.
    pub parameters: Option<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ToolChoice {
    None,
    Auto,
    Required,
    Function(String),
    /// `allowed_tools`: only these functions may be called; `required` forces a call.
    Allowed {
        names: Vec<String>,
        required: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Value },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
}

impl ReasoningEffort {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "none" => Self::None,
            "minimal" => Self::Minimal,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "xhigh" => Self::Xhigh,
            _ => return None,
        })
    }

    /// Thinking tokens granted for this effort; 0 turns thinking off.
    pub fn budget_tokens(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Minimal => 512,
            Self::Low => 1024,
            Self::Medium => 8192,
            Self::High => 24576,
            Self::Xhigh => 32768,
        }
    }
}

/// A chat request after every OpenAI-level check.
#[derive(Clone, Debug, Default)]
pub struct ChatInput {
    pub messages: Vec<Message>,
    pub tools: Vec<FunctionTool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    /// `max_completion_tokens`, or the older `max_tokens` when only that is given.
    pub max_tokens: Option<u32>,
    /// The name of the field `max_tokens` came from, for error messages.
    pub max_tokens_param: &'static str,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub n: Option<u32>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    /// `user`, or `safety_identifier` when `user` is absent.
    pub user: Option<String>,
    pub reasoning_effort: Option<ReasoningEffort>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
}

/// A 400 naming `param`.
pub fn invalid(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::new("invalid_request", message).with_param(param)
}

/// A 400 for a field the target provider cannot honour.
pub fn unsupported(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::new("unsupported_parameter", message).with_param(param)
}

/// Read one optional field, treating `null` as absent.
fn field<T: DeserializeOwned>(
    json: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, GatewayError> {
    match json.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|err| invalid(name, format!("invalid value for {name}: {err}"))),
    }
}

fn in_range(
    name: &str,
    value: Option<f64>,
    low: f64,
    high: f64,
) -> Result<Option<f64>, GatewayError> {
    match value {
        Some(v) if !(low..=high).contains(&v) => Err(invalid(
            name,
            format!("{name} must be between {low} and {high}, got {v}"),
        )),
        _ => Ok(value),
    }
}

impl ChatInput {
    /// Check and type every field of a chat request body.
    pub fn parse(json: &Map<String, Value>) -> Result<Self, GatewayError> {
        if let Some(unknown) = json
            .keys()
            .find(|key| !KNOWN_FIELDS.contains(&key.as_str()))
        {
            return Err(unsupported(
                unknown,
                format!("unknown parameter: {unknown}"),
            ));
        }
        reject_unsupported_everywhere(json)?;

        let messages = match json.get("messages") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_message(item, i))
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(invalid("messages", "messages must be a non-empty array")),
        };

        let (max_tokens, max_tokens_param) = match field::<u32>(json, "max_completion_tokens")? {
            Some(value) => (Some(value), "max_completion_tokens"),
            None => (field::<u32>(json, "max_tokens")?, "max_tokens"),
        };
        if max_tokens == Some(0) {
            return Err(invalid(
                max_tokens_param,
                format!("{max_tokens_param} must be at least 1"),
            ));
        }

        let n = field::<u32>(json, "n")?;
        if n == Some(0) {
            return Err(invalid("n", "n must be at least 1"));
        }

        let reasoning_effort = match field::<String>(json, "reasoning_effort")? {
            None => None,
            Some(text) => Some(ReasoningEffort::parse(&text).ok_or_else(|| {
                invalid(
                    "reasoning_effort",
                    format!("reasoning_effort must be none, minimal, low, medium, high or xhigh, got {text:?}"),
                )
            })?),
        };

        Ok(Self {
            messages,
            tools: parse_tools(json)?,
            tool_choice: parse_tool_choice(json)?,
            parallel_tool_calls: field(json, "parallel_tool_calls")?,
            response_format: parse_response_format(json)?,
            max_tokens,
            max_tokens_param,
            temperature: in_range("temperature", field(json, "temperature")?, 0.0, 2.0)?,
            top_p: in_range("top_p", field(json, "top_p")?, 0.0, 1.0)?,
            top_k: field(json, "top_k")?,
            n,
            stop: parse_stop(json)?,
            seed: field(json, "seed")?,
            user: match field::<String>(json, "user")? {
                Some(user) => Some(user),
                None => field(json, "safety_identifier")?,
            },
            reasoning_effort,
            frequency_penalty: in_range(
                "frequency_penalty",
                field(json, "frequency_penalty")?,
                -2.0,
                2.0,
            )?,
            presence_penalty: in_range(
                "presence_penalty",
                field(json, "presence_penalty")?,
                -2.0,
                2.0,
            )?,
        })
    }

    /// The functions named by `tool_choice`, checked against `tools`.
    pub fn check_tool_choice(&self) -> Result<(), GatewayError> {
        let names: Vec<&str> = match &self.tool_choice {
            Some(ToolChoice::Function(name)) => vec![name],
            Some(ToolChoice::Allowed { names, .. }) => names.iter().map(String::as_str).collect(),
            Some(ToolChoice::Required) if self.tools.is_empty() => {
                return Err(invalid(
                    "tool_choice",
                    "tool_choice \"required\" needs at least one tool in tools",
                ));
            }
            _ => return Ok(()),
        };
        for name in names {
            if !self.tools.iter().any(|tool| tool.name == name) {
                return Err(invalid(
                    "tool_choice",
                    format!("tool_choice names the function {name:?}, which is not in tools"),
                ));
            }
        }
        Ok(())
    }
}

/// Fields neither Anthropic nor Gemini can honour through this translation.
fn reject_unsupported_everywhere(json: &Map<String, Value>) -> Result<(), GatewayError> {
    if field::<bool>(json, "logprobs")? == Some(true) {
        return Err(unsupported(
            "logprobs",
            "logprobs is only supported for OpenAI and xAI models",
        ));
    }
    if json.get("top_logprobs").is_some_and(|v| !v.is_null()) {
        return Err(unsupported(
            "top_logprobs",
            "top_logprobs is only supported for OpenAI and xAI models",
        ));
    }
    if field::<Map<String, Value>>(json, "logit_bias")?.is_some_and(|bias| !bias.is_empty()) {
        return Err(unsupported(
            "logit_bias",
            "logit_bias is only supported for OpenAI and xAI models",
        ));
    }
    if let Some(modalities) = field::<Vec<String>>(json, "modalities")? {
        if modalities.iter().any(|m| m != "text") {
            return Err(unsupported(
                "modalities",
                "this model only produces text; use modalities [\"text\"]",
            ));
        }
    }
    for name in [
        "audio",
        "prediction",
        "web_search_options",
        "functions",
        "function_call",
    ] {
        if json.get(name).is_some_and(|v| !v.is_null()) {
            let hint = match name {
                "functions" => "; send tools instead",
                "function_call" => "; send tool_choice instead",
                _ => "",
            };
            return Err(unsupported(
                name,
                format!("{name} is not supported for this model{hint}"),
            ));
        }
    }
    Ok(())
}

fn parse_stop(json: &Map<String, Value>) -> Result<Vec<String>, GatewayError> {
    let stop = match json.get("stop") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(_)) => field::<Vec<String>>(json, "stop")?.unwrap_or_default(),
        Some(_) => {
            return Err(invalid(
                "stop",
                "stop must be a string or an array of strings",
            ))
        }
    };
    if stop.iter().any(String::is_empty) {
        return Err(invalid("stop", "stop sequences must not be empty strings"));
    }
    Ok(stop)
}

fn parse_tools(json: &Map<String, Value>) -> Result<Vec<FunctionTool>, GatewayError> {
    let Some(items) = field::<Vec<Value>>(json, "tools")? else {
        return Ok(Vec::new());
    };
    let mut tools = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let param = format!("tools[{i}]");
        if item.get("type").and_then(Value::as_str) != Some("function") {
            return Err(unsupported(
                &param,
                "only tools of type \"function\" are supported for this model",
            ));
        }
        let function = item.get("function").and_then(Value::as_object);
        let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
        let (Some(function), Some(name)) = (function, name) else {
            return Err(invalid(&param, "a function tool needs function.name"));
        };
        if tools.iter().any(|tool: &FunctionTool| tool.name == name) {
            return Err(invalid(
                &param,
                format!("the function name {name:?} appears twice in tools"),
            ));
        }
        let parameters = function.get("parameters").filter(|p| !p.is_null()).cloned();
        if parameters.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(invalid(
                &format!("{param}.function.parameters"),
                "parameters must be a JSON Schema object",
            ));
        }
        tools.push(FunctionTool {
            name: name.to_owned(),
            description: function
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters,
        });
    }
    Ok(tools)
}

fn parse_tool_choice(json: &Map<String, Value>) -> Result<Option<ToolChoice>, GatewayError> {
    let bad = || {
        invalid(
            "tool_choice",
            "tool_choice must be none, auto, required, a function or allowed_tools",
        )
    };
    let choice = match json.get("tool_choice") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(mode)) => match mode.as_str() {
            "none" => ToolChoice::None,
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            _ => return Err(bad()),
        },
        Some(Value::Object(object)) => match object.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = object
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str);
                ToolChoice::Function(name.ok_or_else(bad)?.to_owned())
            }
            Some("allowed_tools") => {
                let allowed = object.get("allowed_tools").ok_or_else(bad)?;
                let required = match allowed.get("mode").and_then(Value::as_str) {
                    Some("auto") => false,
                    Some("required") => true,
                    _ => return Err(bad()),
                };
                let names = allowed
                    .get("tools")
                    .and_then(Value::as_array)
                    .ok_or_else(bad)?
                    .iter()
                    .map(|tool| {
                        tool.get("function")
                            .and_then(|f| f.get("name"))
                            .and_then(Value::as_str)
                    })
                    .map(|name| name.map(str::to_owned).ok_or_else(bad))
                    .collect::<Result<Vec<_>, _>>()?;
                ToolChoice::Allowed { names, required }
            }
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    Ok(Some(choice))
}

fn parse_response_format(
    json: &Map<String, Value>,
) -> Result<Option<ResponseFormat>, GatewayError> {
    let Some(format) = field::<Map<String, Value>>(json, "response_format")? else {
        return Ok(None);
    };
    let format = match format.get("type").and_then(Value::as_str) {
        Some("text") => ResponseFormat::Text,
        Some("json_object") => ResponseFormat::JsonObject,
        Some("json_schema") => {
            let spec = format.get("json_schema").and_then(Value::as_object);
            let name = spec.and_then(|s| s.get("name")).and_then(Value::as_str);
            let (Some(spec), Some(name)) = (spec, name) else {
                return Err(invalid(
                    "response_format",
                    "json_schema needs json_schema.name",
                ));
            };
            let schema = spec.get("schema").filter(|s| !s.is_null()).cloned();
            let schema = schema.unwrap_or_else(|| Value::Object(Map::new()));
            if !schema.is_object() {
                return Err(invalid(
                    "response_format",
                    "json_schema.schema must be a JSON Schema object",
                ));
            }
            ResponseFormat::JsonSchema {
                name: name.to_owned(),
                schema,
            }
        }
        _ => {
            return Err(invalid(
                "response_format",
                "response_format.type must be text, json_object or json_schema",
            ))
        }
    };
    Ok(Some(format))
}

fn parse_message(value: &Value, index: usize) -> Result<Message, GatewayError> {
    let param = format!("messages[{index}]");
    let Some(object) = value.as_object() else {
        return Err(invalid(&param, "each message must be an object"));
    };
    let content = object.get("content").filter(|c| !c.is_null());
    let content_param = format!("{param}.content");
    match object.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Ok(Message::System(text_only(content, &content_param)?)),
        Some("user") => {
            let content =
                content.ok_or_else(|| invalid(&content_param, "a user message needs content"))?;
            Ok(Message::User(user_parts(content, &content_param)?))
        }
        Some("assistant") => parse_assistant(object, &param),
        Some("tool") => {
            let call_id = object.get("tool_call_id").and_then(Value::as_str);
            let call_id = call_id.ok_or_else(|| {
                invalid(
                    &format!("{param}.tool_call_id"),
                    "a tool message needs tool_call_id",
                )
            })?;
            Ok(Message::Tool {
                call_id: call_id.to_owned(),
                content: text_only(content, &content_param)?,
            })
        }
        Some("function") => Err(unsupported(
            &param,
            "function messages are not supported; send tool messages",
        )),
        _ => Err(invalid(
            &format!("{param}.role"),
            "role must be system, developer, user, assistant or tool",
        )),
    }
}

/// The text of a string or an array of text parts, joined without separators.
fn text_only(content: Option<&Value>, param: &str) -> Result<String, GatewayError> {
    match content {
        None => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                let kind = part.get("type").and_then(Value::as_str);
                let body = match kind {
                    Some("text") => part.get("text"),
                    Some("refusal") => part.get("refusal"),
                    _ => None,
                };
                let Some(Value::String(body)) = body else {
                    return Err(invalid(
                        &format!("{param}[{i}]"),
                        "this message may only contain text parts",
                    ));
                };
                text.push_str(body);
            }
            Ok(text)
        }
        Some(_) => Err(invalid(
            param,
            "content must be a string or an array of parts",
        )),
    }
}

fn user_parts(content: &Value, param: &str) -> Result<Vec<Part>, GatewayError> {
    let parts = match content {
        Value::String(text) => return Ok(vec![Part::Text(text.clone())]),
        Value::Array(parts) if !parts.is_empty() => parts,
        _ => {
            return Err(invalid(
                param,
                "content must be a string or a non-empty array of parts",
            ))
        }
    };
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| user_part(part, &format!("{param}[{i}]")))
        .collect()
}

fn user_part(part: &Value, param: &str) -> Result<Part, GatewayError> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") => match part.get("text") {
            Some(Value::String(text)) => Ok(Part::Text(text.clone())),
            _ => Err(invalid(param, "a text part needs text")),
        },
        Some("image_url") => {
            let url = part
                .get("image_url")
                .and_then(|i| i.get("url"))
                .and_then(Value::as_str);
            let url = url.ok_or_else(|| invalid(param, "an image_url part needs image_url.url"))?;
            Ok(Part::Image(parse_media_url(
                url,
                &format!("{param}.image_url.url"),
            )?))
        }
        Some("file") => {
            let file = part.get("file");
            if file
                .and_then(|f| f.get("file_id"))
                .is_some_and(|id| !id.is_null())
            {
                return Err(unsupported(
                    param,
                    "file_id is not supported for this model; send file.file_data",
                ));
            }
            let data = file
                .and_then(|f| f.get("file_data"))
                .and_then(Value::as_str);
            let data = data.ok_or_else(|| invalid(param, "a file part needs file.file_data"))?;
            let media = parse_media_url(data, &format!("{param}.file.file_data"))?;
            if matches!(media, Media::Url(_)) {
                return Err(invalid(param, "file.file_data must be a base64 data: URL"));
            }
            Ok(Part::File(media))
        }
        Some("input_audio") => Err(unsupported(
            param,
            "audio input is not supported for this model",
        )),
        _ => Err(invalid(
            param,
            "content part type must be text, image_url or file",
        )),
    }
}

/// Split a `data:<mime>;base64,<data>` URL, or accept an http(s) URL as is.
fn parse_media_url(url: &str, param: &str) -> Result<Media, GatewayError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (header, data) = rest
            .split_once(',')
            .ok_or_else(|| invalid(param, "a data: URL needs a comma before its data"))?;
        let Some(mime_type) = header.strip_suffix(";base64") else {
            return Err(invalid(param, "only base64 data: URLs are supported"));
        };
        if mime_type.is_empty() {
            return Err(invalid(
                param,
                "a data: URL needs a media type, such as data:image/png;base64,",
            ));
        }
        return Ok(Media::Inline {
            mime_type: mime_type.to_ascii_lowercase(),
            data: data.to_owned(),
        });
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(Media::Url(url.to_owned()));
    }
    Err(invalid(
        param,
        "the URL must be http, https or a base64 data: URL",
    ))
}

fn parse_assistant(object: &Map<String, Value>, param: &str) -> Result<Message, GatewayError> {
    let content = object.get("content").filter(|c| !c.is_null());
    let mut turn = AssistantTurn {
        text: text_only(content, &format!("{param}.content"))?,
        ..AssistantTurn::default()
    };
    if let Some(calls) = object.get("tool_calls").filter(|c| !c.is_null()) {
        let calls = calls.as_array().ok_or_else(|| {
            invalid(
                &format!("{param}.tool_calls"),
                "tool_calls must be an array",
            )
        })?;
        for (i, call) in calls.iter().enumerate() {
            turn.tool_calls
                .push(parse_tool_call(call, &format!("{param}.tool_calls[{i}]"))?);
        }
    }
    if let Some(blocks) = object.get("thinking_blocks").filter(|b| !b.is_null()) {
        let blocks = blocks.as_array().ok_or_else(|| {
            invalid(
                &format!("{param}.thinking_blocks"),
                "thinking_blocks must be an array",
            )
        })?;
        turn.thinking_blocks = blocks.clone();
    }
    Ok(Message::Assistant(turn))
}

fn parse_tool_call(call: &Value, param: &str) -> Result<ToolCall, GatewayError> {
    let id = call.get("id").and_then(Value::as_str);
    let function = call.get("function");
    let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
    let (Some(id), Some(name)) = (id, name) else {
        return Err(invalid(param, "a tool call needs id and function.name"));
    };
    let raw = function
        .and_then(|f| f.get("arguments"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let arguments = if raw.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(arguments)) => arguments,
            _ => {
                return Err(invalid(
                    &format!("{param}.function.arguments"),
                    "tool call arguments must be a JSON object encoded as a string",
                ))
            }
        }
    };
    let thought_signature = call
        .pointer("/extra_content/google/thought_signature")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments,
        thought_signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ChatInput, GatewayError> {
        ChatInput::parse(value.as_object().unwrap())
    }

    #[test]
    fn unknown_field_rejected() {
        let err =
            parse(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "foo": 1}))
                .unwrap_err();
        assert_eq!(err.code, "unsupported_parameter");
        assert_eq!(err.param.as_deref(), Some("foo"));
    }

    #[test]
    fn max_completion_tokens_preferred() {
        let input = parse(json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 10, "max_completion_tokens": 20
        }))
        .unwrap();
        assert_eq!(input.max_tokens, Some(20));
        assert_eq!(input.max_tokens_param, "max_completion_tokens");
    }

    #[test]
    fn temperature_out_of_range_named() {
        let err = parse(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}))
            .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("temperature"));
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn data_url_split() {
        let media = parse_media_url("data:image/PNG;base64,AAAA", "p").unwrap();
        assert_eq!(
            media,
            Media::Inline {
                mime_type: "image/png".into(),
                data: "AAAA".into()
            }
        );
        assert!(parse_media_url("data:image/png,abc", "p").is_err());
        assert!(parse_media_url("ftp://x", "p").is_err());
    }

    #[test]
    fn invalid_tool_arguments_named() {
        let err = parse(json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}
        ]}))
        .unwrap_err();
        assert_eq!(
            err.param.as_deref(),
            Some("messages[1].tool_calls[0].function.arguments")
        );
    }

    #[test]
    fn logprobs_rejected() {
        let err = parse(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "logprobs": true}))
            .unwrap_err();
        assert_eq!(err.code, "unsupported_parameter");
        assert_eq!(err.param.as_deref(), Some("logprobs"));
    }
}
