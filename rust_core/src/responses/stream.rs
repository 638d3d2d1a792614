//! Chat chunks in, Responses stream events out.
//!
//! [`EventWriter`] reads the `chat.completion.chunk` documents that every
//! adapter produces and writes the Responses event sequence as SSE frames
//! with an `event:` line and a `sequence_number` from 0:
//!
//! ```text
//! response.created, response.in_progress,
//!   per item: response.output_item.added,
//!     reasoning: reasoning_summary_part.added, reasoning_summary_text.delta…, .done, part.done
//!     message:   content_part.added, output_text.delta… (or refusal.delta…), .done, content_part.done
//!     call:      function_call_arguments.delta…, function_call_arguments.done
//!   response.output_item.done,
//! response.completed | response.incomplete | response.failed
//! ```
//!
//! Items open in the order their first chunk arrives, and an item closes when
//! another one opens or the stream ends. Every adapter streams the fragments
//! of one tool call together, so a call closes when the next one starts. The
//! writer also gathers the whole [`ModelOutput`], which the final Response object
//! and the stored conversation are built from.

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};

use super::model_output::{chat_usage, FunctionCall, ModelOutput};
use super::object::{
    function_call_item, message_item, output_text_part, reasoning_item, refusal_part, Ending,
    Header,
};
use crate::error::GatewayError;
use crate::sse;

/// Mints item ids; production uses [`crate::ids::new_id`].
pub type Minter = Box<dyn FnMut(&str) -> String + Send>;

/// A content part of the open message.
#[derive(Debug)]
struct OpenPart {
    refusal: bool,
    text: String,
}

#[derive(Debug)]
enum Open {
    Reasoning {
        slot: usize,
        text: String,
    },
    Message {
        slot: usize,
        parts: Vec<Value>,
        part: Option<OpenPart>,
    },
}

/// A function call of the stream: its chat tool-call index, its output slot and its position
/// in [`ModelOutput::function_calls`].
#[derive(Debug)]
struct Call {
    chat_index: u64,
    slot: usize,
    position: usize,
    open: bool,
}

/// Converts one stream of chat chunks into Responses events.
pub struct EventWriter {
    header: Header,
    mint: Minter,
    sequence: u64,
    /// One output item per slot: the in-progress copy until the item is done.
    items: Vec<Value>,
    open: Option<Open>,
    calls: Vec<Call>,
    model_output: ModelOutput,
}

impl EventWriter {
    pub fn new(header: Header, mint: Minter) -> Self {
        Self {
            header,
            mint,
            sequence: 0,
            items: Vec::new(),
            open: None,
            calls: Vec::new(),
            model_output: ModelOutput::default(),
        }
    }

    /// Return what the model produced so far.
    pub fn model_output(&self) -> &ModelOutput {
        &self.model_output
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    fn event(&mut self, kind: &str, mut fields: Value, out: &mut BytesMut) {
        fields["type"] = kind.into();
        fields["sequence_number"] = self.sequence.into();
        self.sequence += 1;
        out.extend_from_slice(&sse::frame(Some(kind), &fields.to_string()));
    }

    /// Write `response.created` and `response.in_progress`.
    pub fn start(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        let pending = self.header.render(&Ending::in_progress(), Vec::new(), None);
        self.event("response.created", json!({"response": pending}), &mut out);
        self.event(
            "response.in_progress",
            json!({"response": pending}),
            &mut out,
        );
        out.freeze()
    }

    /// Translate one chat chunk document into events appended to `out`.
    pub fn chunk(&mut self, chunk: &[u8], out: &mut BytesMut) -> Result<(), GatewayError> {
        let chunk: Value = serde_json::from_slice(chunk).map_err(|err| {
            GatewayError::new(
                "upstream_error",
                format!("the provider sent a stream event that is not JSON: {err}"),
            )
        })?;
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.model_output.usage = Some(chat_usage(usage));
        }

        // The Responses API has one output per response, so only the first choice is read.
        let Some(choice) = chunk["choices"].as_array().and_then(|choices| {
            choices
                .iter()
                .find(|c| c["index"].as_u64().unwrap_or(0) == 0)
        }) else {
            return Ok(());
        };

        let delta = &choice["delta"];
        if let Some(text) = delta["reasoning_content"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            self.reasoning_delta(text, out);
        }
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            self.message_delta(text, false, out);
        }
        if let Some(text) = delta["refusal"].as_str().filter(|t| !t.is_empty()) {
            self.message_delta(text, true, out);
        }

        if let Some(blocks) = delta["thinking_blocks"].as_array() {
            self.model_output
                .thinking_blocks
                .extend(blocks.iter().cloned());
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            self.tool_call_delta(call, out);
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.model_output.finish_reason = Some(reason.to_owned());
        }
        Ok(())
    }

    fn open_item(&mut self, item: Value, out: &mut BytesMut) -> usize {
        let slot = self.items.len();
        self.event(
            "response.output_item.added",
            json!({"output_index": slot, "item": item}),
            out,
        );
        self.items.push(item);
        slot
    }

    fn item_done(&mut self, slot: usize, item: Value, out: &mut BytesMut) {
        self.event(
            "response.output_item.done",
            json!({"output_index": slot, "item": item}),
            out,
        );
        self.items[slot] = item;
    }

    fn reasoning_delta(&mut self, text: &str, out: &mut BytesMut) {
        self.model_output.reasoning.push_str(text);
        if !matches!(self.open, Some(Open::Reasoning { .. })) {
            self.close_open(out);
            self.close_calls(out);
            let id = (self.mint)("rs");
            let slot = self.open_item(reasoning_item(&id, ""), out);
            let location = json!({"item_id": id, "output_index": slot, "summary_index": 0});
            let mut fields = location;
            fields["part"] = json!({"type": "summary_text", "text": ""});
            self.event("response.reasoning_summary_part.added", fields, out);
            self.open = Some(Open::Reasoning {
                slot,
                text: String::new(),
            });
        }
        let Some(Open::Reasoning {
            slot,
            text: summary,
        }) = &mut self.open
        else {
            return;
        };
        summary.push_str(text);
        let slot = *slot;
        let fields = json!({"item_id": self.items[slot]["id"], "output_index": slot,
                            "summary_index": 0, "delta": text});
        self.event("response.reasoning_summary_text.delta", fields, out);
    }

    fn message_delta(&mut self, text: &str, refusal: bool, out: &mut BytesMut) {
        if refusal {
            self.model_output.refusal.push_str(text);
        } else {
            self.model_output.text.push_str(text);
        }
        if !matches!(self.open, Some(Open::Message { .. })) {
            self.close_open(out);
            self.close_calls(out);
            let id = (self.mint)("msg");
            let slot = self.open_item(message_item(&id, "in_progress", Vec::new()), out);
            self.open = Some(Open::Message {
                slot,
                parts: Vec::new(),
                part: None,
            });
        }
        let open_kind = match &self.open {
            Some(Open::Message { part, .. }) => part.as_ref().map(|p| p.refusal),
            _ => return,
        };
        if open_kind != Some(refusal) {
            self.close_part(out);
            self.open_part(refusal, out);
        }
        if text.is_empty() {
            return;
        }
        let (slot, content_index) = match &mut self.open {
            Some(Open::Message {
                slot,
                parts,
                part: Some(part),
            }) => {
                part.text.push_str(text);
                (*slot, parts.len())
            }
            _ => return,
        };
        let mut fields = json!({"item_id": self.items[slot]["id"], "output_index": slot,
                                "content_index": content_index, "delta": text});
        if refusal {
            self.event("response.refusal.delta", fields, out);
        } else {
            fields["logprobs"] = json!([]);
            self.event("response.output_text.delta", fields, out);
        }
    }

    /// Open a text or refusal part in the open message.
    fn open_part(&mut self, refusal: bool, out: &mut BytesMut) {
        let (slot, content_index) = match &mut self.open {
            Some(Open::Message { slot, parts, part }) => {
                *part = Some(OpenPart {
                    refusal,
                    text: String::new(),
                });
                (*slot, parts.len())
            }
            _ => return,
        };
        let part = if refusal {
            refusal_part("")
        } else {
            output_text_part("")
        };
        let fields = json!({"item_id": self.items[slot]["id"], "output_index": slot,
                            "content_index": content_index, "part": part});
        self.event("response.content_part.added", fields, out);
    }

    /// Close the open content part of the open message.
    fn close_part(&mut self, out: &mut BytesMut) {
        let Some(Open::Message { slot, parts, part }) = &mut self.open else {
            return;
        };
        let Some(done) = part.take() else {
            return;
        };
        let slot = *slot;
        let content_index = parts.len();
        let finished = if done.refusal {
            refusal_part(&done.text)
        } else {
            output_text_part(&done.text)
        };
        parts.push(finished.clone());
        let item_id = self.items[slot]["id"].clone();
        let mut fields = json!({"item_id": item_id, "output_index": slot,
                                "content_index": content_index});
        if done.refusal {
            fields["refusal"] = done.text.into();
            self.event("response.refusal.done", fields.clone(), out);
        } else {
            fields["text"] = done.text.into();
            fields["logprobs"] = json!([]);
            self.event("response.output_text.done", fields.clone(), out);
        }
        let mut fields = json!({"item_id": item_id, "output_index": slot,
                                "content_index": content_index});
        fields["part"] = finished;
        self.event("response.content_part.done", fields, out);
    }

    /// Close the open reasoning or message item.
    fn close_open(&mut self, out: &mut BytesMut) {
        self.close_part(out);
        let status = match self.model_output.status().0 {
            "incomplete" => "incomplete",
            _ => "completed",
        };
        match self.open.take() {
            None => {}
            Some(Open::Reasoning { slot, text }) => {
                let id = self.items[slot]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let location = json!({"item_id": id, "output_index": slot, "summary_index": 0});
                let mut fields = location.clone();
                fields["text"] = text.clone().into();
                self.event("response.reasoning_summary_text.done", fields, out);
                let mut fields = location;
                fields["part"] = json!({"type": "summary_text", "text": text});
                self.event("response.reasoning_summary_part.done", fields, out);
                self.item_done(slot, reasoning_item(&id, &text), out);
            }
            Some(Open::Message { slot, parts, .. }) => {
                let id = self.items[slot]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                self.item_done(slot, message_item(&id, status, parts), out);
            }
        }
    }

    fn tool_call_delta(&mut self, delta: &Value, out: &mut BytesMut) {
        let chat_index = delta["index"].as_u64().unwrap_or(0);
        let arguments = delta.pointer("/function/arguments").and_then(Value::as_str);
        let known = self
            .calls
            .iter()
            .position(|call| call.chat_index == chat_index);
        let index = match known {
            Some(index) => index,
            None => self.start_call(chat_index, delta, out),
        };
        if let Some(extra) = delta.get("extra_content").filter(|e| !e.is_null()) {
            let position = self.calls[index].position;
            self.model_output.function_calls[position].extra_content = Some(extra.clone());
        }
        let Some(piece) = arguments.filter(|a| !a.is_empty()) else {
            return;
        };
        let call = &self.calls[index];
        let (slot, position, open) = (call.slot, call.position, call.open);
        self.model_output.function_calls[position]
            .arguments
            .push_str(piece);
        if open {
            let fields = json!({"item_id": self.items[slot]["id"], "output_index": slot,
                                "delta": piece});
            self.event("response.function_call_arguments.delta", fields, out);
        } else {
            // A fragment for a call that already closed: no adapter sends one, but if one comes
            // the final output still carries the whole arguments.
            let call = self.model_output.function_calls[position].clone();
            let id = self.items[slot]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            self.items[slot] = function_call_item(&id, "completed", &call);
        }
    }

    fn start_call(&mut self, chat_index: u64, delta: &Value, out: &mut BytesMut) -> usize {
        self.close_open(out);
        self.close_calls(out);
        let call = FunctionCall {
            call_id: delta["id"].as_str().unwrap_or_default().to_owned(),
            name: delta
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            arguments: String::new(),
            extra_content: None,
        };
        let id = (self.mint)("fc");
        let slot = self.open_item(function_call_item(&id, "in_progress", &call), out);
        self.model_output.function_calls.push(call);
        self.calls.push(Call {
            chat_index,
            slot,
            position: self.model_output.function_calls.len() - 1,
            open: true,
        });
        self.calls.len() - 1
    }

    fn close_calls(&mut self, out: &mut BytesMut) {
        for index in 0..self.calls.len() {
            let call = &mut self.calls[index];
            if !call.open {
                continue;
            }
            call.open = false;
            let (slot, position) = (call.slot, call.position);
            let done = self.model_output.function_calls[position].clone();
            let id = self.items[slot]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let fields = json!({"item_id": id, "output_index": slot,
                                "name": done.name, "arguments": done.arguments});
            self.event("response.function_call_arguments.done", fields, out);
            self.item_done(slot, function_call_item(&id, "completed", &done), out);
        }
    }

    /// Close every open item after the provider finished; return the closing events and the
    /// final Response object, which [`EventWriter::terminal`] then sends.
    pub fn finish(&mut self, now: u64) -> (Bytes, Value) {
        let mut out = BytesMut::new();
        if self.items.is_empty() && self.open.is_none() {
            // A turn that produced nothing still gets a message, as a whole response does.
            self.message_delta("", false, &mut out);
        }
        self.close_open(&mut out);
        self.close_calls(&mut out);
        let ending = Ending::of(&self.model_output, now);
        let response = self.header.render(
            &ending,
            self.items.clone(),
            self.model_output.usage.as_ref(),
        );
        (out.freeze(), response)
    }

    /// Write `response.completed` or `response.incomplete` with the final object.
    pub fn terminal(&mut self, response: &Value) -> Bytes {
        let kind = match response["status"].as_str() {
            Some("incomplete") => "response.incomplete",
            _ => "response.completed",
        };
        let mut out = BytesMut::new();
        self.event(kind, json!({"response": response}), &mut out);
        out.freeze()
    }

    /// Write `response.failed` for a stream that broke off, with the items produced so far.
    pub fn fail(&mut self, err: &GatewayError) -> Bytes {
        let mut out = BytesMut::new();
        let ending = Ending::failed(err.code, &err.message);
        let response = self.header.render(
            &ending,
            self.items.clone(),
            self.model_output.usage.as_ref(),
        );
        self.event("response.failed", json!({"response": response}), &mut out);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::super::object::tests::{counter, settings};
    use super::*;

    fn writer() -> EventWriter {
        let header = Header {
            id: "resp_1".into(),
            created_at: 100,
            model: "m".into(),
            settings: settings(),
        };
        EventWriter::new(header, Box::new(counter()))
    }

    /// Parse SSE frames into (event name, data) pairs, checking that the names match `type`.
    fn events(bytes: &[u8]) -> Vec<Value> {
        let mut parser = sse::Parser::new();
        let mut parsed = Vec::new();
        parser.feed(bytes, &mut parsed);
        parsed
            .into_iter()
            .map(|event| {
                let data: Value = serde_json::from_str(&event.data).unwrap();
                assert_eq!(event.event.as_deref(), data["type"].as_str());
                data
            })
            .collect()
    }

    fn chunk(delta: Value, finish: Option<&str>) -> Vec<u8> {
        json!({"object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
        .into_bytes()
    }

    fn run(chunks: &[Vec<u8>]) -> (Vec<Value>, Value, ModelOutput) {
        let mut writer = writer();
        let mut out = BytesMut::from(&writer.start()[..]);
        for piece in chunks {
            writer.chunk(piece, &mut out).unwrap();
        }
        let (closing, response) = writer.finish(200);
        out.extend_from_slice(&closing);
        out.extend_from_slice(&writer.terminal(&response));
        (events(&out), response, writer.model_output().clone())
    }

    fn kinds(events: &[Value]) -> Vec<&str> {
        events.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    #[test]
    fn text_stream_follows_canonical_sequence() {
        let usage = json!({"object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2}})
        .to_string()
        .into_bytes();
        let (events, response, _) = run(&[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Hel"}), None),
            chunk(json!({"content": "lo"}), None),
            chunk(json!({}), Some("stop")),
            usage,
        ]);
        assert_eq!(
            kinds(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let numbers: Vec<u64> = events
            .iter()
            .map(|e| e["sequence_number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, (0..10).collect::<Vec<u64>>());
        assert_eq!(events[0]["response"]["status"], "in_progress");
        assert_eq!(events[4]["delta"], "Hel");
        assert_eq!(events[4]["item_id"], "msg_1");
        assert_eq!(events[6]["text"], "Hello");
        assert_eq!(response["status"], "completed");
        assert_eq!(response["output_text"], "Hello");
        assert_eq!(response["usage"]["input_tokens"], 7);
        assert_eq!(response["usage"]["total_tokens"], 9);
        assert_eq!(events[9]["response"], response);
    }

    #[test]
    fn function_calls_stream_arguments() {
        let (events, response, model_output) = run(&[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "f", "arguments": ""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\":"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                "function": {"name": "g", "arguments": "{}"}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
        ]);
        assert_eq!(
            kinds(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(events[5]["arguments"], "{\"x\":1}");
        assert_eq!(events[5]["name"], "f");
        let output = response["output"].as_array().unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0]["call_id"], "call_a");
        assert_eq!(output[1]["arguments"], "{}");
        assert_eq!(output[1]["status"], "completed");
        assert_eq!(model_output.function_calls.len(), 2);
        assert_eq!(model_output.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn reasoning_then_text_become_two_items() {
        let (events, response, _) = run(&[
            chunk(json!({"reasoning_content": "Think"}), None),
            chunk(json!({"content": "Done"}), None),
            chunk(json!({}), Some("length")),
        ]);
        assert_eq!(
            kinds(&events)[2..9],
            [
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
            ]
        );
        assert_eq!(response["status"], "incomplete");
        assert_eq!(
            response["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        assert_eq!(response["output"][0]["summary"][0]["text"], "Think");
        assert_eq!(response["output"][1]["status"], "incomplete");
        assert_eq!(events.last().unwrap()["type"], "response.incomplete");
    }

    #[test]
    fn empty_stream_yields_empty_message() {
        let (events, response, _) = run(&[chunk(json!({}), Some("stop"))]);
        assert_eq!(
            kinds(&events)[2..],
            [
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(response["output"][0]["content"][0]["text"], "");
    }

    #[test]
    fn failure_reports_partial_output() {
        let mut writer = writer();
        let mut out = BytesMut::new();
        writer.start();
        writer
            .chunk(&chunk(json!({"content": "Par"}), None), &mut out)
            .unwrap();
        let err = GatewayError::new("upstream_error", "The server had an error.");
        let failed = events(&writer.fail(&err));
        assert_eq!(failed[0]["type"], "response.failed");
        assert_eq!(failed[0]["sequence_number"], 5);
        let response = &failed[0]["response"];
        assert_eq!(response["status"], "failed");
        assert_eq!(
            response["error"],
            json!({"code": "upstream_error", "message": "The server had an error."})
        );
        assert_eq!(response["output"][0]["status"], "in_progress");
    }

    #[test]
    fn invalid_chunk_is_upstream_error() {
        let mut writer = writer();
        let err = writer
            .chunk(b"{not json", &mut BytesMut::new())
            .unwrap_err();
        assert_eq!(err.code, "upstream_error");
    }
}
