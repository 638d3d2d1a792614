//! The chat request of one turn: instructions, the replayed conversation and
//! this turn's input, with the settings translated by `request.rs`.

use serde_json::{Map, Value};

use super::input::TurnInput;
use super::request::CreateRequest;
use crate::error::GatewayError;
use crate::translate::Provider;

/// The source of a message of the chat request, so that an error about it names the field the
/// client sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Instructions,
    /// A message replayed from an earlier response of the chain.
    History,
    /// The input item at this index.
    Input(usize),
}

/// A chat-completions request body and the origin of each of its messages.
#[derive(Clone, Debug)]
pub struct ChatCall {
    pub body: Map<String, Value>,
    pub origins: Vec<Origin>,
}

/// Strip what only another provider understands from a replayed message: Anthropic thinking
/// blocks go only to Anthropic and Gemini thought signatures only to Gemini, so a conversation
/// may switch models between turns.
pub fn replayable(message: &Value, provider: Provider) -> Value {
    let mut message = message.clone();
    let Some(object) = message.as_object_mut() else {
        return message;
    };
    object.remove("reasoning_content");
    if provider != Provider::Anthropic {
        object.remove("thinking_blocks");
    }
    if provider != Provider::Google {
        for call in object
            .get_mut("tool_calls")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(call) = call.as_object_mut() {
                call.remove("extra_content");
            }
        }
    }
    message
}

/// Build the chat request: `instructions` as a system message for this turn only, then the
/// earlier turns, then this turn's input.
pub fn chat_call(
    request: &CreateRequest,
    history: &[Value],
    input: &TurnInput,
    provider: Provider,
) -> ChatCall {
    let mut messages = Vec::with_capacity(history.len() + input.messages.len() + 1);
    let mut origins = Vec::with_capacity(messages.capacity());
    if let Some(instructions) = &request.instructions {
        messages.push(serde_json::json!({"role": "system", "content": instructions}));
        origins.push(Origin::Instructions);
    }
    for message in history {
        messages.push(replayable(message, provider));
        origins.push(Origin::History);
    }
    messages.extend(input.messages.iter().cloned());
    origins.extend(input.origins.iter().map(|&index| Origin::Input(index)));

    let mut body = Map::new();
    body.insert("model".into(), Value::String(request.model.clone()));
    body.insert("messages".into(), Value::Array(messages));
    if request.stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    body.extend(request.chat_fields.clone());
    ChatCall { body, origins }
}

/// Return the Responses field that a chat field was translated from.
fn responses_field(chat_field: &str) -> Option<&'static str> {
    Some(match chat_field {
        "max_completion_tokens" | "max_tokens" => "max_output_tokens",
        "response_format" => "text.format",
        "verbosity" => "text.verbosity",
        "reasoning_effort" => "reasoning.effort",
        "tool_choice" => "tool_choice",
        _ => return None,
    })
}

impl ChatCall {
    /// Rename an error's `param` from the chat request's terms to the fields the client sent:
    /// `messages[3].content` becomes `input[1]`, `previous_response_id` or `instructions`, and
    /// `response_format` becomes `text.format`.
    pub fn client_error(&self, mut err: GatewayError) -> GatewayError {
        let Some(param) = err.param.take() else {
            return err;
        };
        err.param = Some(self.client_param(&param).unwrap_or(param));
        err
    }

    fn client_param(&self, param: &str) -> Option<String> {
        if let Some(rest) = param.strip_prefix("messages[") {
            let index: usize = rest.split(']').next()?.parse().ok()?;
            return Some(match self.origins.get(index)? {
                Origin::Instructions => "instructions".to_owned(),
                Origin::History => "previous_response_id".to_owned(),
                Origin::Input(item) => format!("input[{item}]"),
            });
        }
        if let Some(rest) = param.strip_prefix("tools[") {
            let index = rest.split(']').next()?;
            let nested = rest.split_once("].function.").map(|(_, field)| field);
            return Some(match nested {
                Some(field) => format!("tools[{index}].{field}"),
                None => format!("tools[{index}]"),
            });
        }
        let head = param.split(['.', '[']).next()?;
        responses_field(head).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responses::input::read_input;
    use crate::responses::object::tests::counter;
    use crate::responses::request::parse;
    use serde_json::json;

    fn call(body: Value, history: &[Value], provider: Provider) -> ChatCall {
        let request = parse(body.to_string().as_bytes()).unwrap();
        let input = read_input(&request.input, &mut counter()).unwrap();
        chat_call(&request, history, &input, provider)
    }

    #[test]
    fn instructions_then_history_then_input() {
        let history = vec![
            json!({"role": "user", "content": "One"}),
            json!({"role": "assistant", "content": "Two"}),
        ];
        let call = call(
            json!({"model": "m", "input": "Three", "instructions": "Be brief",
                   "max_output_tokens": 9, "stream": true}),
            &history,
            Provider::Openai,
        );
        assert_eq!(
            Value::Object(call.body),
            json!({"model": "m", "stream": true, "max_completion_tokens": 9, "messages": [
                {"role": "system", "content": "Be brief"},
                {"role": "user", "content": "One"},
                {"role": "assistant", "content": "Two"},
                {"role": "user", "content": "Three"}]})
        );
        assert_eq!(
            call.origins,
            vec![
                Origin::Instructions,
                Origin::History,
                Origin::History,
                Origin::Input(0)
            ]
        );
    }

    #[test]
    fn provider_extras_replayed_to_their_provider_only() {
        let message = json!({"role": "assistant", "content": null, "reasoning_content": "r",
            "thinking_blocks": [{"type": "thinking"}],
            "tool_calls": [{"id": "c", "type": "function",
                "function": {"name": "f", "arguments": "{}"},
                "extra_content": {"google": {"thought_signature": "s"}}}]});
        let openai = replayable(&message, Provider::Openai);
        assert_eq!(
            openai,
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c",
                "type": "function", "function": {"name": "f", "arguments": "{}"}}]})
        );
        let anthropic = replayable(&message, Provider::Anthropic);
        assert_eq!(anthropic["thinking_blocks"], json!([{"type": "thinking"}]));
        assert!(anthropic["tool_calls"][0].get("extra_content").is_none());
        let gemini = replayable(&message, Provider::Google);
        assert!(gemini.get("thinking_blocks").is_none());
        assert_eq!(
            gemini["tool_calls"][0]["extra_content"]["google"]["thought_signature"],
            "s"
        );
    }

    #[test]
    fn params_renamed_to_client_fields() {
        let history = vec![json!({"role": "user", "content": "Old"})];
        let call = call(
            json!({"model": "m", "instructions": "I", "input": [
                {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
            &history,
            Provider::Anthropic,
        );
        let renamed = |param: &str| {
            let err = GatewayError::new("invalid_request", "x").with_param(param);
            call.client_error(err).param.unwrap()
        };
        assert_eq!(renamed("messages[0]"), "instructions");
        assert_eq!(renamed("messages[1].content"), "previous_response_id");
        assert_eq!(renamed("messages[3].content[0].image_url.url"), "input[1]");
        assert_eq!(renamed("max_completion_tokens"), "max_output_tokens");
        assert_eq!(renamed("response_format"), "text.format");
        assert_eq!(
            renamed("tools[2].function.parameters"),
            "tools[2].parameters"
        );
        assert_eq!(renamed("temperature"), "temperature");
        assert_eq!(renamed("messages[9]"), "messages[9]");
    }
}
