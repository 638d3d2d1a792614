//! Function tools and `tool_choice`: flat Responses shapes to nested chat shapes.

use serde_json::{json, Value};

use super::request::{invalid, unsupported};
use crate::error::GatewayError;

/// Turn flat function tools (`{"type": "function", "name", "parameters", ...}`) into chat tools.
/// Hosted tools such as web search have no chat-completions counterpart and get 400.
pub fn chat_tools(tools: &Value) -> Result<Vec<Value>, GatewayError> {
    let Some(tools) = tools.as_array() else {
        return Err(invalid("tools", "`tools` must be an array"));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let param = format!("tools[{index}]");
        let Some(tool) = tool.as_object() else {
            return Err(invalid(&param, "each tool must be an object"));
        };
        match tool.get("type").and_then(Value::as_str) {
            Some("function") => {}
            Some(other) => {
                return Err(unsupported(
                    &param,
                    format!("tools of type {other:?} are not supported; only function tools are"),
                ))
            }
            None => return Err(invalid(&param, "a tool needs `type`")),
        }
        let Some(name) = tool
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(invalid(
                &format!("{param}.name"),
                "a function tool needs `name`",
            ));
        };
        let mut function = json!({"name": name});
        for key in ["description", "parameters", "strict"] {
            if let Some(value) = tool.get(key).filter(|v| !v.is_null()) {
                function[key] = value.clone();
            }
        }
        if function.get("parameters").is_some_and(|p| !p.is_object()) {
            return Err(invalid(
                &format!("{param}.parameters"),
                "`parameters` must be a JSON Schema object",
            ));
        }
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(out)
}

fn function_name(
    object: &serde_json::Map<String, Value>,
    param: &str,
) -> Result<String, GatewayError> {
    object
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid(param, "a function tool choice needs `name`"))
}

/// Turn a Responses `tool_choice` into the chat form.
pub fn chat_tool_choice(choice: &Value) -> Result<Value, GatewayError> {
    let param = "tool_choice";
    match choice {
        Value::String(mode) if ["none", "auto", "required"].contains(&mode.as_str()) => {
            Ok(choice.clone())
        }
        Value::Object(object) => match object.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = function_name(object, param)?;
                Ok(json!({"type": "function", "function": {"name": name}}))
            }
            Some("allowed_tools") => {
                let mode = object.get("mode").and_then(Value::as_str);
                let Some(mode) = mode.filter(|m| ["auto", "required"].contains(m)) else {
                    return Err(invalid(
                        "tool_choice.mode",
                        "`tool_choice.mode` must be auto or required",
                    ));
                };
                let Some(tools) = object.get("tools").and_then(Value::as_array) else {
                    return Err(invalid(
                        "tool_choice.tools",
                        "`tool_choice.tools` must be an array",
                    ));
                };
                let mut allowed = Vec::with_capacity(tools.len());
                for (index, tool) in tools.iter().enumerate() {
                    let item = format!("tool_choice.tools[{index}]");
                    match tool.as_object() {
                        Some(tool)
                            if tool.get("type").and_then(Value::as_str) == Some("function") =>
                        {
                            let name = function_name(tool, &item)?;
                            allowed.push(json!({"type": "function", "function": {"name": name}}));
                        }
                        _ => {
                            return Err(unsupported(
                                &item,
                                "only function tools may be listed in allowed_tools",
                            ))
                        }
                    }
                }
                Ok(json!({"type": "allowed_tools",
                          "allowed_tools": {"mode": mode, "tools": allowed}}))
            }
            Some(other) => Err(unsupported(
                param,
                format!("tool_choice of type {other:?} is not supported; only function tools are"),
            )),
            None => Err(invalid(param, "an object `tool_choice` needs `type`")),
        },
        _ => Err(invalid(
            param,
            "`tool_choice` must be none, auto, required or a tool choice object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_function_tool_nested() {
        let tools = json!([{"type": "function", "name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {}}, "strict": true}]);
        assert_eq!(
            chat_tools(&tools).unwrap(),
            vec![
                json!({"type": "function", "function": {"name": "get_weather",
                "description": "Weather", "parameters": {"type": "object", "properties": {}},
                "strict": true}})
            ]
        );
    }

    #[test]
    fn hosted_tool_rejected() {
        let err = chat_tools(&json!([{"type": "web_search"}])).unwrap_err();
        assert_eq!(err.code, "unsupported_parameter");
        assert_eq!(err.param.as_deref(), Some("tools[0]"));
        let err = chat_tools(&json!([{"type": "function"}])).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("tools[0].name"));
    }

    #[test]
    fn tool_choice_forms() {
        assert_eq!(
            chat_tool_choice(&json!("required")).unwrap(),
            json!("required")
        );
        assert_eq!(
            chat_tool_choice(&json!({"type": "function", "name": "f"})).unwrap(),
            json!({"type": "function", "function": {"name": "f"}})
        );
        assert_eq!(
            chat_tool_choice(&json!({"type": "allowed_tools", "mode": "auto",
                "tools": [{"type": "function", "name": "f"}]}))
            .unwrap(),
            json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto",
                "tools": [{"type": "function", "function": {"name": "f"}}]}})
        );
        let err = chat_tool_choice(&json!({"type": "file_search"})).unwrap_err();
        assert_eq!(err.code, "unsupported_parameter");
        let err = chat_tool_choice(&json!("sometimes")).unwrap_err();
        assert_eq!(err.code, "invalid_request");
    }
}
