//! The OpenAI Responses API, also spoken by xAI: `POST /v1/responses`.
//!
//! The response object echoes the request's settings (instructions, tools,
//! metadata and the like). Output items come in the order reasoning (a
//! `reasoning` item with one summary part), message, function calls. Streams
//! carry `event:` names and a `sequence_number` in every event and end after
//! `response.completed` (or `response.incomplete`) without a `[DONE]` line.
//! A `finish` from the directive makes the response `incomplete` with that
//! value as `incomplete_details.reason`; an output limit gives
//! `max_output_tokens`. The simulator stores nothing, so `previous_response_id`
//! is echoed but not resolved.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};

use super::errors;
use super::script::{self, ErrorSpec, Finish, Prompt, Reply, Speaker, Usage};
use super::stream::{Event, Script};
use super::wire::{self, Call};
use super::Invalid;
use crate::translate::Provider;

/// The parts of a Responses request the simulator reads or echoes.
#[derive(Clone, Debug)]
pub struct ResponsesRequest {
    pub model: String,
    pub stream: bool,
    pub prompt: Prompt,
    /// The request body, whose settings the response object repeats.
    body: Value,
}

pub fn read(body: &Value) -> Result<ResponsesRequest, Invalid> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid::param("Missing required parameter: 'model'.", "model"))?;
    let mut prompt_tokens = 0;
    let mut turn = Vec::new();
    let mut earlier = Vec::new();
    match body.get("input") {
        Some(Value::String(text)) => {
            prompt_tokens += script::message_tokens(&Value::String(text.clone()));
            turn.push(text.clone());
        }
        Some(Value::Array(items)) => {
            prompt_tokens += items.iter().map(script::message_tokens).sum::<u64>();
            let turns = script::client_turns(items.iter(), speaker);
            turn = turns.last;
            earlier = turns.earlier;
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(Invalid::param(
                "Invalid type for 'input': expected a string or an array of input items.",
                "input",
            ))
        }
    }
    if let Some(instructions) = body.get("instructions").filter(|v| v.is_string()) {
        prompt_tokens += script::message_tokens(instructions);
    }
    Ok(ResponsesRequest {
        model: model.to_owned(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        prompt: Prompt {
            turn,
            earlier,
            prompt_tokens,
            max_tokens: wire::u64_field(body, "max_output_tokens"),
        },
        body: body.clone(),
    })
}

/// Tell who wrote an input item: the model wrote assistant messages, function calls and
/// reasoning; the client wrote the rest, such as function call outputs.
fn speaker(item: &Value) -> Speaker {
    let role = item.get("role").and_then(Value::as_str);
    let kind = item.get("type").and_then(Value::as_str);
    match (role, kind) {
        (Some("assistant"), _) | (_, Some("function_call" | "reasoning")) => Speaker::Model,
        (Some("system" | "developer"), _) => Speaker::System,
        _ => Speaker::Client,
    }
}

#[derive(Serialize)]
struct UsageJson {
    input_tokens: u64,
    input_tokens_details: InputDetails,
    output_tokens: u64,
    output_tokens_details: OutputDetails,
    total_tokens: u64,
}

#[derive(Serialize)]
struct InputDetails {
    cached_tokens: u64,
    /// Only newer models report cache writes, so the field appears only when non-zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_write_tokens: Option<u64>,
}

#[derive(Serialize)]
struct OutputDetails {
    reasoning_tokens: u64,
}

fn usage_json(usage: &Usage) -> UsageJson {
    UsageJson {
        input_tokens: usage.prompt,
        input_tokens_details: InputDetails {
            cached_tokens: usage.cached,
            cache_write_tokens: (usage.cache_write > 0).then_some(usage.cache_write),
        },
        output_tokens: usage.completion,
        output_tokens_details: OutputDetails {
            reasoning_tokens: usage.reasoning,
        },
        total_tokens: usage.total(),
    }
}

/// Map `finish` to the status and `incomplete_details` of a finished response.
fn final_status(finish: &Finish) -> (&'static str, Value) {
    match finish {
        Finish::Stop | Finish::ToolCalls => ("completed", Value::Null),
        Finish::Length => ("incomplete", json!({"reason": "max_output_tokens"})),
        Finish::Native(reason) => ("incomplete", json!({ "reason": reason })),
    }
}

#[derive(Serialize)]
struct ResponseObject<'a> {
    id: String,
    object: &'static str,
    created_at: u64,
    status: &'a str,
    background: bool,
    completed_at: Option<u64>,
    error: Option<()>,
    incomplete_details: Value,
    instructions: &'a Value,
    max_output_tokens: &'a Value,
    model: &'a str,
    output: Vec<Value>,
    parallel_tool_calls: bool,
    previous_response_id: &'a Value,
    reasoning: Value,
    store: bool,
    temperature: f64,
    text: Value,
    tool_choice: Value,
    tools: Value,
    top_p: f64,
    truncation: &'a str,
    usage: Option<UsageJson>,
    user: &'a Value,
    metadata: Value,
}

const NULL: Value = Value::Null;

/// Build the response object. `done` is false for the in-progress copies of a stream.
fn response_object<'a>(
    request: &'a ResponsesRequest,
    reply: &Reply,
    call: &Call<'_>,
    done: bool,
) -> ResponseObject<'a> {
    let body = &request.body;
    let field = |name: &str| body.get(name).cloned();
    let (status, incomplete_details) = if done {
        final_status(&reply.finish)
    } else {
        ("in_progress", Value::Null)
    };
    ResponseObject {
        id: format!("resp_{}", call.serial),
        object: "response",
        created_at: call.created,
        status,
        background: false,
        completed_at: done.then_some(call.created),
        error: None,
        incomplete_details,
        instructions: body.get("instructions").unwrap_or(&NULL),
        max_output_tokens: body.get("max_output_tokens").unwrap_or(&NULL),
        model: &request.model,
        output: if done {
            output_items(reply, call)
        } else {
            Vec::new()
        },
        parallel_tool_calls: body
            .get("parallel_tool_calls")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        previous_response_id: body.get("previous_response_id").unwrap_or(&NULL),
        reasoning: field("reasoning").unwrap_or(json!({"effort": null, "summary": null})),
        store: body.get("store").and_then(Value::as_bool).unwrap_or(true),
        temperature: body
            .get("temperature")
            .and_then(Value::as_f64)
            .unwrap_or(1.0),
        text: field("text").unwrap_or(json!({"format": {"type": "text"}})),
        tool_choice: field("tool_choice").unwrap_or(json!("auto")),
        tools: field("tools").unwrap_or(json!([])),
        top_p: body.get("top_p").and_then(Value::as_f64).unwrap_or(1.0),
        truncation: body
            .get("truncation")
            .and_then(Value::as_str)
            .unwrap_or("disabled"),
        usage: done.then(|| usage_json(&reply.usage)),
        user: body.get("user").unwrap_or(&NULL),
        metadata: field("metadata").unwrap_or(json!({})),
    }
}

fn message_id(call: &Call<'_>) -> String {
    format!("msg_{}", call.serial)
}

fn reasoning_id(call: &Call<'_>) -> String {
    format!("rs_{}", call.serial)
}

fn function_item_id(call: &Call<'_>, index: usize) -> String {
    format!("fc_{}{index:02}", call.serial)
}

fn call_id(call: &Call<'_>, reply: &Reply, index: usize) -> String {
    match &reply.tool_calls[index].id {
        Some(id) => id.clone(),
        None => call.stable_id("call_", index),
    }
}

fn reasoning_item(call: &Call<'_>, text: &str) -> Value {
    json!({"id": reasoning_id(call), "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}]})
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

fn message_item(call: &Call<'_>, status: &str, content: Vec<Value>) -> Value {
    json!({"id": message_id(call), "type": "message", "status": status,
        "content": content, "role": "assistant"})
}

fn function_item(
    call: &Call<'_>,
    reply: &Reply,
    index: usize,
    status: &str,
    arguments: &str,
) -> Value {
    json!({"id": function_item_id(call, index), "type": "function_call", "status": status,
        "arguments": arguments, "call_id": call_id(call, reply, index),
        "name": reply.tool_calls[index].name})
}

/// Tell whether the reply has a message item: always, unless it is only tool calls.
fn has_message(reply: &Reply) -> bool {
    !reply.text.is_empty() || reply.tool_calls.is_empty()
}

fn output_items(reply: &Reply, call: &Call<'_>) -> Vec<Value> {
    let mut items = Vec::new();
    if !reply.reasoning.is_empty() {
        items.push(reasoning_item(call, &reply.reasoning()));
    }
    if has_message(reply) {
        items.push(message_item(
            call,
            "completed",
            vec![output_text(&reply.text())],
        ));
    }
    for (index, tool) in reply.tool_calls.iter().enumerate() {
        items.push(function_item(
            call,
            reply,
            index,
            "completed",
            &tool.arguments,
        ));
    }
    items
}

/// Render the response object of a non-streamed call.
pub fn render(request: &ResponsesRequest, reply: &Reply, call: &Call<'_>) -> Bytes {
    Bytes::from(wire::to_json(&response_object(request, reply, call, true)))
}

/// One streaming event: `type` first, then `sequence_number`, then the event's fields.
#[derive(Serialize)]
struct StreamEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    sequence_number: u64,
    #[serde(flatten)]
    fields: Value,
}

/// Writes the events of one stream, numbering them.
struct Events<'a> {
    call: &'a Call<'a>,
    obfuscate: bool,
    events: Vec<Event>,
}

impl Events<'_> {
    fn push(&mut self, kind: &str, fields: Value, tokens: u32) {
        let event = StreamEvent {
            kind,
            sequence_number: self.events.len() as u64,
            fields,
        };
        let frame = self.call.json_frame(Some(kind), &event);
        self.events.push(Event::new(frame, tokens));
    }

    /// Push a delta event, with OpenAI's padding field when the flavor has it.
    fn delta(&mut self, kind: &str, mut fields: Value, tokens: u32) {
        if self.obfuscate {
            fields["obfuscation"] = json!(obfuscation(self.events.len()));
        }
        self.push(kind, fields, tokens);
    }
}

/// Pick a deterministic stand-in for OpenAI's random padding.
fn obfuscation(index: usize) -> &'static str {
    const PAD: &str = "Xr4Tq9LmZ2vB8nKw";
    &PAD[..1 + index % (PAD.len() - 1)]
}

/// Render the SSE events of a streamed call.
pub fn stream(request: &ResponsesRequest, reply: &Reply, call: &Call<'_>) -> Script {
    let mut events = Events {
        call,
        obfuscate: call.provider == Provider::Openai,
        events: Vec::new(),
    };
    let pending =
        serde_json::to_value(response_object(request, reply, call, false)).unwrap_or_default();
    events.push("response.created", json!({ "response": pending }), 0);
    events.push("response.in_progress", json!({ "response": pending }), 0);

    let mut output_index = 0;
    if !reply.reasoning.is_empty() {
        stream_reasoning(&mut events, reply, output_index);
        output_index += 1;
    }
    if has_message(reply) {
        stream_message(&mut events, reply, output_index);
        output_index += 1;
    }
    for index in 0..reply.tool_calls.len() {
        stream_function_call(&mut events, reply, index, output_index);
        output_index += 1;
    }

    let done =
        serde_json::to_value(response_object(request, reply, call, true)).unwrap_or_default();
    let last = match final_status(&reply.finish).0 {
        "completed" => "response.completed",
        _ => "response.incomplete",
    };
    events.push(last, json!({ "response": done }), 0);

    Script {
        error: error_event(call, &reply.error),
        malformed: call.frame(
            Some("response.output_text.delta"),
            br#"{"type":"response.output_text.delta","sequence_number":"#,
        ),
        events: events.events,
    }
}

fn stream_reasoning(events: &mut Events<'_>, reply: &Reply, output_index: usize) {
    let call = events.call;
    let id = reasoning_id(call);
    let added = json!({"id": id, "type": "reasoning", "summary": []});
    events.push(
        "response.output_item.added",
        json!({"output_index": output_index, "item": added}),
        0,
    );
    let location = json!({"item_id": id, "output_index": output_index, "summary_index": 0});
    let mut fields = location.clone();
    fields["part"] = json!({"type": "summary_text", "text": ""});
    events.push("response.reasoning_summary_part.added", fields, 0);
    for piece in &reply.reasoning {
        let mut fields = location.clone();
        fields["delta"] = json!(piece);
        events.delta("response.reasoning_summary_text.delta", fields, 1);
    }
    let text = reply.reasoning();
    let mut fields = location.clone();
    fields["text"] = json!(text);
    events.push("response.reasoning_summary_text.done", fields, 0);
    let mut fields = location;
    fields["part"] = json!({"type": "summary_text", "text": text});
    events.push("response.reasoning_summary_part.done", fields, 0);
    let item = reasoning_item(call, &text);
    events.push(
        "response.output_item.done",
        json!({"output_index": output_index, "item": item}),
        0,
    );
}

fn stream_message(events: &mut Events<'_>, reply: &Reply, output_index: usize) {
    let call = events.call;
    let id = message_id(call);
    let added = message_item(call, "in_progress", Vec::new());
    events.push(
        "response.output_item.added",
        json!({"output_index": output_index, "item": added}),
        0,
    );
    let location = json!({"item_id": id, "output_index": output_index, "content_index": 0});
    let mut fields = location.clone();
    fields["part"] = output_text("");
    events.push("response.content_part.added", fields, 0);
    for piece in &reply.text {
        let mut fields = location.clone();
        fields["delta"] = json!(piece);
        fields["logprobs"] = json!([]);
        events.delta("response.output_text.delta", fields, 1);
    }
    let text = reply.text();
    let mut fields = location.clone();
    fields["text"] = json!(text);
    fields["logprobs"] = json!([]);
    events.push("response.output_text.done", fields, 0);
    let mut fields = location;
    fields["part"] = output_text(&text);
    events.push("response.content_part.done", fields, 0);
    let item = message_item(call, "completed", vec![output_text(&text)]);
    events.push(
        "response.output_item.done",
        json!({"output_index": output_index, "item": item}),
        0,
    );
}

fn stream_function_call(events: &mut Events<'_>, reply: &Reply, index: usize, output_index: usize) {
    let call = events.call;
    let tool = &reply.tool_calls[index];
    let added = function_item(call, reply, index, "in_progress", "");
    events.push(
        "response.output_item.added",
        json!({"output_index": output_index, "item": added}),
        0,
    );
    let location = json!({"item_id": function_item_id(call, index), "output_index": output_index});
    for piece in &tool.pieces {
        let mut fields = location.clone();
        fields["delta"] = json!(piece);
        events.delta("response.function_call_arguments.delta", fields, 1);
    }
    let mut fields = location;
    fields["name"] = json!(tool.name);
    fields["arguments"] = json!(tool.arguments);
    events.push("response.function_call_arguments.done", fields, 0);
    let item = function_item(call, reply, index, "completed", &tool.arguments);
    events.push(
        "response.output_item.done",
        json!({"output_index": output_index, "item": item}),
        0,
    );
}

/// Render the `error` event, numbered as the event after the `error_after` events before it.
fn error_event(call: &Call<'_>, spec: &ErrorSpec) -> Bytes {
    let fields = errors::openai(500, spec);
    let error = serde_json::to_value(&fields).unwrap_or_default();
    let inner = &error["error"];
    let event = json!({
        "type": "error",
        "sequence_number": call.error_after,
        "code": inner["code"].as_str().unwrap_or("server_error"),
        "message": inner["message"],
        "param": inner["param"],
    });
    call.frame(Some("error"), &wire::to_json(&event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::script::{build_reply, turn_directive};
    use crate::simulator::stream::replay;
    use crate::simulator::wire::test_call;

    fn call_with(user: &str, extra: Value) -> (ResponsesRequest, Reply) {
        let mut body = json!({"model": "gpt-test", "input": [{"role": "user", "content": [{"type": "input_text", "text": user}]}]});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let request = read(&body).unwrap();
        let directive = turn_directive(&request.prompt.turn)
            .unwrap()
            .unwrap_or_default();
        let reply = build_reply(&request.prompt, &directive);
        (request, reply)
    }

    #[test]
    fn string_input_and_instructions_count() {
        let request =
            read(&json!({"model": "m", "input": "abcd", "instructions": "efgh"})).unwrap();
        assert_eq!(request.prompt.turn, vec!["abcd"]);
        assert_eq!(request.prompt.prompt_tokens, 4 + 4);
        assert!(read(&json!({"input": "x"})).is_err());
    }

    #[test]
    fn non_stream_response_object() {
        let (request, reply) = call_with(
            r#"#sim {"text": "Hi there", "usage": {"cached": 3}}"#,
            json!({"instructions": "Be nice.", "metadata": {"k": "v"}, "max_output_tokens": 50}),
        );
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Openai)))
                .unwrap();
        assert_eq!(body["id"], "resp_sim0001");
        assert_eq!(body["object"], "response");
        assert_eq!(body["status"], "completed");
        assert_eq!(body["instructions"], "Be nice.");
        assert_eq!(body["metadata"], json!({"k": "v"}));
        assert_eq!(body["max_output_tokens"], 50);
        let item = &body["output"][0];
        assert_eq!(item["type"], "message");
        assert_eq!(item["role"], "assistant");
        assert_eq!(item["content"][0]["type"], "output_text");
        assert_eq!(item["content"][0]["text"], "Hi there");
        assert_eq!(body["usage"]["output_tokens"], 2);
        assert_eq!(body["usage"]["input_tokens_details"]["cached_tokens"], 3);
        assert!(body["usage"]["input_tokens_details"]
            .get("cache_write_tokens")
            .is_none());
        assert_eq!(
            body["usage"]["total_tokens"],
            body["usage"]["input_tokens"].as_u64().unwrap() + 2
        );
    }

    #[test]
    fn function_calls_and_reasoning_items() {
        let (request, reply) = call_with(
            r#"#sim {"reasoning": "hmm", "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}"#,
            json!({}),
        );
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Openai)))
                .unwrap();
        let output = body["output"].as_array().unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0]["type"], "reasoning");
        assert_eq!(output[0]["summary"][0]["text"], "hmm");
        assert_eq!(output[1]["type"], "function_call");
        assert_eq!(output[1]["name"], "f");
        assert_eq!(output[1]["arguments"], r#"{"a": 1}"#);
        assert!(output[1]["call_id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(
            body["usage"]["output_tokens_details"]["reasoning_tokens"],
            1
        );
    }

    #[test]
    fn output_limit_makes_it_incomplete() {
        let (request, reply) = call_with(
            "#sim {\"text\": \"a b c\"}",
            json!({"max_output_tokens": 1}),
        );
        let body: Value =
            serde_json::from_slice(&render(&request, &reply, &test_call(Provider::Openai)))
                .unwrap();
        assert_eq!(body["status"], "incomplete");
        assert_eq!(body["incomplete_details"]["reason"], "max_output_tokens");
    }

    #[test]
    fn stream_event_sequence() {
        let (request, reply) = call_with(
            r#"#sim {"text": "one two", "tool_calls": [{"name": "f", "arguments": {"q": "long argument"}}]}"#,
            json!({"stream": true}),
        );
        let events = replay(&stream(&request, &reply, &test_call(Provider::Xai)));
        let kinds: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
        assert_eq!(
            kinds,
            vec![
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let mut arguments = String::new();
        for (n, event) in events.iter().enumerate() {
            let data: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(data["type"], event.event_type());
            assert_eq!(data["sequence_number"], n as u64);
            assert!(data.get("obfuscation").is_none());
            if event.event_type() == "response.function_call_arguments.delta" {
                arguments.push_str(data["delta"].as_str().unwrap());
            }
        }
        assert_eq!(arguments, r#"{"q": "long argument"}"#);
        let created: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(created["response"]["status"], "in_progress");
        assert_eq!(created["response"]["usage"], Value::Null);
        let completed: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
        assert_eq!(completed["response"]["status"], "completed");
        assert_eq!(
            completed["response"]["output"][0]["content"][0]["text"],
            "one two"
        );
        assert_eq!(completed["response"]["usage"]["output_tokens"], 5);
    }

    #[test]
    fn openai_deltas_carry_obfuscation() {
        let (request, reply) = call_with("#sim {\"text\": \"x\"}", json!({"stream": true}));
        let events = replay(&stream(&request, &reply, &test_call(Provider::Openai)));
        let delta = events
            .iter()
            .find(|e| e.event_type() == "response.output_text.delta")
            .unwrap();
        let data: Value = serde_json::from_str(&delta.data).unwrap();
        assert!(data["obfuscation"].is_string());
    }

    #[test]
    fn error_event_numbered_after_prior_events() {
        let (request, reply) = call_with(r#"#sim {"error": {"message": "boom"}}"#, json!({}));
        let mut call = test_call(Provider::Openai);
        call.error_after = 3;
        let script = stream(&request, &reply, &call);
        let error = replay(&Script {
            events: vec![Event::new(script.error, 0)],
            ..Script::default()
        });
        assert_eq!(error[0].event_type(), "error");
        let data: Value = serde_json::from_str(&error[0].data).unwrap();
        assert_eq!(data["sequence_number"], 3);
        assert_eq!(data["message"], "boom");
        assert_eq!(data["code"], "server_error");
    }
}
