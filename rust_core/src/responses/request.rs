//! Reading a `POST /v1/responses` body into checked parts.
//!
//! Every field is either translated to its chat-completions counterpart,
//! kept by the gateway (`metadata`, `store`, `previous_response_id`), or
//! rejected with 400 naming it. The table in `docs/responses.md` lists which
//! is which; nothing is dropped without a rule there.

use serde_json::{json, Map, Value};

use crate::error::GatewayError;

/// Every top-level field this gateway reads. Any other field gets 400 `unsupported_parameter`.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "previous_response_id",
    "store",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "max_output_tokens",
    "temperature",
    "top_p",
    "top_logprobs",
    "metadata",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "service_tier",
    "truncation",
    "include",
    "background",
    "conversation",
    "prompt",
    "max_tool_calls",
];

/// OpenAI's limits on `metadata`: pairs, key length and value length.
const METADATA_MAX_PAIRS: usize = 16;
const METADATA_MAX_KEY_CHARS: usize = 64;
const METADATA_MAX_VALUE_CHARS: usize = 512;

/// A checked `POST /v1/responses` request.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub model: String,
    /// The input items; a string input is one user message item.
    pub input: Vec<Value>,
    pub instructions: Option<String>,
    pub previous_response_id: Option<String>,
    pub store: bool,
    pub stream: bool,
    pub max_output_tokens: Option<u64>,
    /// Fields of the chat request other than `model`, `messages` and `stream`.
    pub chat_fields: Map<String, Value>,
    /// The request's settings as the Response object repeats them.
    pub settings: Settings,
}

/// Request settings repeated in every Response object, with OpenAI's defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub instructions: Value,
    pub max_output_tokens: Value,
    pub metadata: Value,
    pub parallel_tool_calls: bool,
    pub previous_response_id: Value,
    pub reasoning: Value,
    pub service_tier: Value,
    pub store: bool,
    pub temperature: Value,
    pub text: Value,
    pub tool_choice: Value,
    pub tools: Value,
    pub top_p: Value,
    pub user: Value,
    pub safety_identifier: Value,
    pub prompt_cache_key: Value,
}

/// Build a 400 `invalid_request` naming `param`.
pub fn invalid(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::new("invalid_request", message).with_param(param)
}

/// Build a 400 `unsupported_parameter` naming `param`.
pub fn unsupported(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::new("unsupported_parameter", message).with_param(param)
}

/// Return the value of `name`, treating `null` as absent.
fn get<'a>(json: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    json.get(name).filter(|value| !value.is_null())
}

fn string(json: &Map<String, Value>, name: &str) -> Result<Option<String>, GatewayError> {
    match get(json, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(name, format!("`{name}` must be a string"))),
    }
}

fn boolean(json: &Map<String, Value>, name: &str) -> Result<Option<bool>, GatewayError> {
    match get(json, name) {
        None => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(invalid(name, format!("`{name}` must be a boolean"))),
    }
}

fn number_in(
    json: &Map<String, Value>,
    name: &str,
    low: f64,
    high: f64,
) -> Result<Option<f64>, GatewayError> {
    let Some(value) = get(json, name) else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(number) if (low..=high).contains(&number) => Ok(Some(number)),
        _ => Err(invalid(
            name,
            format!("`{name}` must be a number from {low} to {high}"),
        )),
    }
}

/// Parse and check a request body.
pub fn parse(raw: &[u8]) -> Result<CreateRequest, GatewayError> {
    let json: Map<String, Value> = serde_json::from_slice(raw).map_err(|err| {
        GatewayError::new(
            "invalid_json",
            format!("The request body is not a valid JSON object: {err}"),
        )
    })?;
    if let Some(unknown) = json
        .keys()
        .find(|key| !KNOWN_FIELDS.contains(&key.as_str()))
    {
        return Err(unsupported(
            unknown,
            format!("unknown parameter: {unknown}"),
        ));
    }
    reject_unsupported(&json)?;

    let model = match get(&json, "model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        None => return Err(invalid("model", "`model` is required")),
        Some(_) => return Err(invalid("model", "`model` must be a non-empty string")),
    };
    let input = parse_input(&json)?;
    let instructions = string(&json, "instructions")?;
    let previous_response_id = string(&json, "previous_response_id")?;
    if previous_response_id.as_deref() == Some("") {
        return Err(invalid(
            "previous_response_id",
            "`previous_response_id` must not be empty",
        ));
    }
    let store = boolean(&json, "store")?.unwrap_or(true);
    let stream = boolean(&json, "stream")?.unwrap_or(false);
    check_stream_options(&json, stream)?;
    let max_output_tokens = match get(&json, "max_output_tokens") {
        None => None,
        Some(value) => match value.as_u64() {
            Some(count) if count >= 1 => Some(count),
            _ => {
                return Err(invalid(
                    "max_output_tokens",
                    "`max_output_tokens` must be a positive integer",
                ))
            }
        },
    };

    let chat_fields = chat_fields(&json, max_output_tokens)?;
    let settings = settings(&json, store, &chat_fields)?;
    Ok(CreateRequest {
        model,
        input,
        instructions,
        previous_response_id,
        store,
        stream,
        max_output_tokens,
        chat_fields,
        settings,
    })
}

/// Reject fields whose meaning this gateway cannot provide, rather than return a quietly
/// different result.
fn reject_unsupported(json: &Map<String, Value>) -> Result<(), GatewayError> {
    if boolean(json, "background")? == Some(true) {
        return Err(unsupported(
            "background",
            "background responses are not supported; send the request without `background`",
        ));
    }
    for (name, hint) in [
        (
            "conversation",
            "chain responses with `previous_response_id` instead",
        ),
        (
            "prompt",
            "send the prompt text in `instructions` and `input` instead",
        ),
        (
            "max_tool_calls",
            "limit tool calls in the client's tool loop instead",
        ),
    ] {
        if get(json, name).is_some() {
            return Err(unsupported(
                name,
                format!("`{name}` is not supported; {hint}"),
            ));
        }
    }
    match get(json, "truncation") {
        None => {}
        Some(Value::String(mode)) if mode == "disabled" => {}
        Some(_) => {
            return Err(unsupported(
                "truncation",
                "only `truncation: \"disabled\"` is supported",
            ))
        }
    }
    match get(json, "include") {
        None => {}
        Some(Value::Array(items)) if items.is_empty() => {}
        Some(Value::Array(_)) => {
            return Err(unsupported(
                "include",
                "`include` is not supported; send it empty or leave it out",
            ))
        }
        Some(_) => return Err(invalid("include", "`include` must be an array")),
    }
    match get(json, "top_logprobs") {
        None => {}
        Some(value) if value.as_u64() == Some(0) => {}
        Some(_) => {
            return Err(unsupported(
                "top_logprobs",
                "`top_logprobs` is not supported through the Responses API of this gateway",
            ))
        }
    }
    Ok(())
}

fn check_stream_options(json: &Map<String, Value>, stream: bool) -> Result<(), GatewayError> {
    let Some(options) = get(json, "stream_options") else {
        return Ok(());
    };
    let Some(options) = options.as_object() else {
        return Err(invalid(
            "stream_options",
            "`stream_options` must be an object",
        ));
    };
    if !stream {
        return Err(invalid(
            "stream_options",
            "`stream_options` is only allowed with `stream: true`",
        ));
    }
    for (key, value) in options {
        // No padding is ever added to the events, so `include_obfuscation` has nothing to turn off.
        if key != "include_obfuscation" {
            return Err(unsupported(
                &format!("stream_options.{key}"),
                format!("unknown parameter: stream_options.{key}"),
            ));
        }
        if !value.is_boolean() && !value.is_null() {
            return Err(invalid(
                "stream_options.include_obfuscation",
                "`stream_options.include_obfuscation` must be a boolean",
            ));
        }
    }
    Ok(())
}

/// Read `input` into items: a string is one user message.
fn parse_input(json: &Map<String, Value>) -> Result<Vec<Value>, GatewayError> {
    match get(json, "input") {
        None => Err(invalid("input", "`input` is required")),
        Some(Value::String(text)) => Ok(vec![json!({"role": "user", "content": text})]),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(invalid("input", "`input` must contain at least one item"))
        }
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(invalid(
                        &format!("input[{index}]"),
                        "each input item must be an object",
                    ));
                }
            }
            Ok(items.clone())
        }
        Some(_) => Err(invalid(
            "input",
            "`input` must be a string or an array of input items",
        )),
    }
}

/// Translate the settings into chat-completions fields.
fn chat_fields(
    json: &Map<String, Value>,
    max_output_tokens: Option<u64>,
) -> Result<Map<String, Value>, GatewayError> {
    let mut chat = Map::new();
    if let Some(tools) = get(json, "tools") {
        let tools = super::tools::chat_tools(tools)?;
        if !tools.is_empty() {
            chat.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = get(json, "tool_choice") {
        chat.insert(
            "tool_choice".into(),
            super::tools::chat_tool_choice(choice)?,
        );
    }
    if let Some(parallel) = boolean(json, "parallel_tool_calls")? {
        chat.insert("parallel_tool_calls".into(), parallel.into());
    }
    if let Some(text) = get(json, "text") {
        read_text(text, &mut chat)?;
    }
    if let Some(reasoning) = get(json, "reasoning") {
        read_reasoning(reasoning, &mut chat)?;
    }
    if let Some(limit) = max_output_tokens {
        chat.insert("max_completion_tokens".into(), limit.into());
    }
    for (name, low, high) in [("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)] {
        if let Some(value) = number_in(json, name, low, high)? {
            chat.insert(name.into(), json!(value));
        }
    }
    for name in [
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "service_tier",
    ] {
        if let Some(value) = string(json, name)? {
            chat.insert(name.into(), Value::String(value));
        }
    }
    Ok(chat)
}

/// `text.format` becomes `response_format`; `text.verbosity` becomes `verbosity`.
fn read_text(text: &Value, chat: &mut Map<String, Value>) -> Result<(), GatewayError> {
    let Some(text) = text.as_object() else {
        return Err(invalid("text", "`text` must be an object"));
    };
    for (key, value) in text {
        match key.as_str() {
            "format" if !value.is_null() => {
                chat.insert("response_format".into(), response_format(value)?);
            }
            "verbosity" if !value.is_null() => {
                let Some(level) = value
                    .as_str()
                    .filter(|v| ["low", "medium", "high"].contains(v))
                else {
                    return Err(invalid(
                        "text.verbosity",
                        "`text.verbosity` must be low, medium or high",
                    ));
                };
                chat.insert("verbosity".into(), level.into());
            }
            "format" | "verbosity" => {}
            other => {
                return Err(unsupported(
                    &format!("text.{other}"),
                    format!("unknown parameter: text.{other}"),
                ))
            }
        }
    }
    Ok(())
}

/// Convert the flat Responses `text.format` into chat's `response_format`, whose JSON Schema
/// is nested.
fn response_format(format: &Value) -> Result<Value, GatewayError> {
    let param = "text.format";
    let Some(format) = format.as_object() else {
        return Err(invalid(param, "`text.format` must be an object"));
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({"type": "text"})),
        Some("json_object") => Ok(json!({"type": "json_object"})),
        Some("json_schema") => {
            let Some(name) = format.get("name").and_then(Value::as_str) else {
                return Err(invalid(
                    "text.format.name",
                    "a `json_schema` format needs `name`",
                ));
            };
            let schema = match format.get("schema") {
                Some(schema @ Value::Object(_)) => schema.clone(),
                _ => {
                    return Err(invalid(
                        "text.format.schema",
                        "a `json_schema` format needs `schema`, a JSON Schema object",
                    ))
                }
            };
            let mut spec = json!({"name": name, "schema": schema});
            for key in ["description", "strict"] {
                if let Some(value) = format.get(key).filter(|v| !v.is_null()) {
                    spec[key] = value.clone();
                }
            }
            Ok(json!({"type": "json_schema", "json_schema": spec}))
        }
        _ => Err(invalid(
            "text.format.type",
            "`text.format.type` must be text, json_object or json_schema",
        )),
    }
}

/// `reasoning.effort` becomes `reasoning_effort`; `summary` is accepted because the reasoning a
/// provider returns is always sent back as a summary.
fn read_reasoning(reasoning: &Value, chat: &mut Map<String, Value>) -> Result<(), GatewayError> {
    let Some(reasoning) = reasoning.as_object() else {
        return Err(invalid("reasoning", "`reasoning` must be an object"));
    };
    for (key, value) in reasoning {
        match key.as_str() {
            "effort" if !value.is_null() => {
                let Some(effort) = value.as_str() else {
                    return Err(invalid(
                        "reasoning.effort",
                        "`reasoning.effort` must be a string",
                    ));
                };
                chat.insert("reasoning_effort".into(), effort.into());
            }
            "summary" | "generate_summary" | "effort" => {}
            other => {
                return Err(unsupported(
                    &format!("reasoning.{other}"),
                    format!("unknown parameter: reasoning.{other}"),
                ))
            }
        }
    }
    Ok(())
}

/// Check `metadata` against OpenAI's limits.
fn metadata(json: &Map<String, Value>) -> Result<Value, GatewayError> {
    let Some(value) = get(json, "metadata") else {
        return Ok(json!({}));
    };
    let Some(pairs) = value.as_object() else {
        return Err(invalid("metadata", "`metadata` must be an object"));
    };
    if pairs.len() > METADATA_MAX_PAIRS {
        return Err(invalid(
            "metadata",
            format!("`metadata` may hold at most {METADATA_MAX_PAIRS} pairs"),
        ));
    }
    for (key, value) in pairs {
        if key.chars().count() > METADATA_MAX_KEY_CHARS {
            return Err(invalid(
                "metadata",
                format!("`metadata` keys may be at most {METADATA_MAX_KEY_CHARS} characters"),
            ));
        }
        match value.as_str() {
            Some(text) if text.chars().count() <= METADATA_MAX_VALUE_CHARS => {}
            _ => {
                return Err(invalid(
                    &format!("metadata.{key}"),
                    format!(
                        "`metadata` values must be strings of at most \
                         {METADATA_MAX_VALUE_CHARS} characters"
                    ),
                ))
            }
        }
    }
    Ok(value.clone())
}

fn settings(
    json: &Map<String, Value>,
    store: bool,
    chat: &Map<String, Value>,
) -> Result<Settings, GatewayError> {
    let echo = |name: &str| get(json, name).cloned().unwrap_or(Value::Null);
    let mut text = get(json, "text").cloned().unwrap_or_else(|| json!({}));
    if text.get("format").is_none_or(Value::is_null) {
        text["format"] = json!({"type": "text"});
    }
    let mut reasoning = json!({"effort": null, "summary": null});
    if let Some(given) = get(json, "reasoning").and_then(Value::as_object) {
        for (key, value) in given {
            reasoning[key] = value.clone();
        }
    }
    Ok(Settings {
        instructions: echo("instructions"),
        max_output_tokens: echo("max_output_tokens"),
        metadata: metadata(json)?,
        parallel_tool_calls: chat
            .get("parallel_tool_calls")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        previous_response_id: echo("previous_response_id"),
        reasoning,
        service_tier: get(json, "service_tier")
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        store,
        temperature: get(json, "temperature")
            .cloned()
            .unwrap_or_else(|| json!(1.0)),
        text,
        tool_choice: get(json, "tool_choice")
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        tools: get(json, "tools").cloned().unwrap_or_else(|| json!([])),
        top_p: get(json, "top_p").cloned().unwrap_or_else(|| json!(1.0)),
        user: echo("user"),
        safety_identifier: echo("safety_identifier"),
        prompt_cache_key: echo("prompt_cache_key"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_json(value: Value) -> Result<CreateRequest, GatewayError> {
        parse(value.to_string().as_bytes())
    }

    fn rejected(value: Value) -> (String, Option<String>) {
        match parse_json(value.clone()) {
            Ok(_) => unreachable!("accepted {value}"),
            Err(err) => (err.code.to_owned(), err.param),
        }
    }

    #[test]
    fn string_input_is_one_user_message() {
        let request = parse_json(json!({"model": "m", "input": "Hi"})).unwrap();
        assert_eq!(
            request.input,
            vec![json!({"role": "user", "content": "Hi"})]
        );
        assert!(request.store);
        assert!(!request.stream);
        assert_eq!(request.settings.tool_choice, json!("auto"));
        assert_eq!(request.settings.text, json!({"format": {"type": "text"}}));
        assert_eq!(request.settings.metadata, json!({}));
    }

    #[test]
    fn settings_become_chat_fields() {
        let request = parse_json(json!({
            "model": "m", "input": "x", "max_output_tokens": 50, "temperature": 0.5,
            "top_p": 0.9, "user": "u1", "parallel_tool_calls": false,
            "text": {"format": {"type": "json_schema", "name": "Out", "schema": {"type": "object"},
                                "strict": true}, "verbosity": "low"},
            "reasoning": {"effort": "low", "summary": "auto"},
        }))
        .unwrap();
        assert_eq!(
            Value::Object(request.chat_fields),
            json!({
                "parallel_tool_calls": false,
                "response_format": {"type": "json_schema",
                    "json_schema": {"name": "Out", "schema": {"type": "object"}, "strict": true}},
                "verbosity": "low",
                "reasoning_effort": "low",
                "max_completion_tokens": 50,
                "temperature": 0.5,
                "top_p": 0.9,
                "user": "u1",
            })
        );
        assert_eq!(request.max_output_tokens, Some(50));
        assert!(!request.settings.parallel_tool_calls);
        assert_eq!(
            request.settings.reasoning,
            json!({"effort": "low", "summary": "auto"})
        );
    }

    #[test]
    fn invalid_bodies_name_the_param() {
        let cases = [
            (json!({"input": "x"}), "invalid_request", "model"),
            (json!({"model": "m"}), "invalid_request", "input"),
            (
                json!({"model": "m", "input": []}),
                "invalid_request",
                "input",
            ),
            (
                json!({"model": "m", "input": ["x"]}),
                "invalid_request",
                "input[0]",
            ),
            (
                json!({"model": "m", "input": 3}),
                "invalid_request",
                "input",
            ),
            (
                json!({"model": "m", "input": "x", "store": "no"}),
                "invalid_request",
                "store",
            ),
            (
                json!({"model": "m", "input": "x", "max_output_tokens": 0}),
                "invalid_request",
                "max_output_tokens",
            ),
            (
                json!({"model": "m", "input": "x", "temperature": 3}),
                "invalid_request",
                "temperature",
            ),
            (
                json!({"model": "m", "input": "x", "previous_response_id": ""}),
                "invalid_request",
                "previous_response_id",
            ),
            (
                json!({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}),
                "invalid_request",
                "text.format.type",
            ),
            (
                json!({"model": "m", "input": "x", "metadata": {"k": 1}}),
                "invalid_request",
                "metadata.k",
            ),
            (
                json!({"model": "m", "input": "x", "stream_options": {"include_obfuscation": true}}),
                "invalid_request",
                "stream_options",
            ),
            (
                json!({"model": "m", "input": "x", "frobnicate": 1}),
                "unsupported_parameter",
                "frobnicate",
            ),
            (
                json!({"model": "m", "input": "x", "background": true}),
                "unsupported_parameter",
                "background",
            ),
            (
                json!({"model": "m", "input": "x", "conversation": "conv_1"}),
                "unsupported_parameter",
                "conversation",
            ),
            (
                json!({"model": "m", "input": "x", "truncation": "auto"}),
                "unsupported_parameter",
                "truncation",
            ),
            (
                json!({"model": "m", "input": "x", "include": ["reasoning.encrypted_content"]}),
                "unsupported_parameter",
                "include",
            ),
            (
                json!({"model": "m", "input": "x", "text": {"format": {"type": "text"}, "x": 1}}),
                "unsupported_parameter",
                "text.x",
            ),
        ];
        for (body, code, param) in cases {
            let (got_code, got_param) = rejected(body.clone());
            assert_eq!(got_code, code, "{body}");
            assert_eq!(got_param.as_deref(), Some(param), "{body}");
        }
    }

    #[test]
    fn metadata_limits_enforced() {
        let pairs: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        let (code, param) = rejected(json!({"model": "m", "input": "x", "metadata": pairs}));
        assert_eq!(code, "invalid_request");
        assert_eq!(param.as_deref(), Some("metadata"));
        let long = "v".repeat(513);
        let (_, param) = rejected(json!({"model": "m", "input": "x", "metadata": {"k": long}}));
        assert_eq!(param.as_deref(), Some("metadata.k"));
    }

    #[test]
    fn harmless_defaults_accepted() {
        let request = parse_json(json!({
            "model": "m", "input": "x", "truncation": "disabled", "include": [],
            "background": false, "top_logprobs": 0, "stream": true,
            "stream_options": {"include_obfuscation": false}, "tools": [],
        }))
        .unwrap();
        assert!(request.stream);
        assert!(request.chat_fields.is_empty());
    }
}
