//! Gemini `streamGenerateContent?alt=sse` to `chat.completion.chunk` documents.
//!
//! Every event is a whole `GenerateContentResponse` holding only new parts; a
//! function call arrives whole and becomes one tool-call delta with its full
//! arguments. Gemini sends no terminal event, so the stream counts as complete
//! when every candidate it saw has a `finishReason`.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::response::{finish_reason, tool_call, GenerateResponse, UsageMetadata};
use crate::error::GatewayError;
use crate::sse;
use crate::translate::chat::ChunkWriter;
use crate::translate::{errors, CallContext, Flow, Provider, StreamTranslator, Usage};

#[derive(Default)]
struct CandidateState {
    tool_calls: usize,
    finished: bool,
}

pub struct GeminiStream {
    writer: ChunkWriter,
    request_id: String,
    candidates: BTreeMap<u32, CandidateState>,
    usage: Option<UsageMetadata>,
}

impl GeminiStream {
    pub fn new(ctx: &CallContext<'_>) -> Self {
        Self {
            writer: ChunkWriter::new(ctx),
            request_id: ctx.request_id.to_owned(),
            candidates: BTreeMap::new(),
            usage: None,
        }
    }

    /// Return the state of one choice, writing its role chunk the first time it appears.
    fn candidate(&mut self, index: u32, out: &mut Vec<Bytes>) -> &mut CandidateState {
        if !self.candidates.contains_key(&index) {
            out.push(self.writer.role(index));
        }
        self.candidates.entry(index).or_default()
    }

    fn translate(
        &mut self,
        response: &GenerateResponse,
        out: &mut Vec<Bytes>,
    ) -> Result<(), GatewayError> {
        if response.blocked_prompt().is_some() {
            self.candidate(0, out).finished = true;
            out.push(self.writer.finish(0, "content_filter"));
            return Ok(());
        }
        for (position, candidate) in response.candidates.iter().enumerate() {
            let index = candidate.index.unwrap_or(position as u32);
            self.candidate(index, out);
            let parts = candidate.content.as_ref().map_or(&[][..], |c| &c.parts[..]);
            for part in parts {
                if let Some(call) = &part.function_call {
                    let state = self.candidate(index, out);
                    let call_index = state.tool_calls;
                    state.tool_calls += 1;
                    let signature = part.thought_signature.as_deref();
                    let call = tool_call(call, signature, &self.request_id, index, call_index);
                    out.push(self.writer.tool_call_start(index, call_index, call));
                } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
                    let chunk = if part.thought {
                        self.writer.reasoning(index, text)
                    } else {
                        self.writer.content(index, text)
                    };
                    out.push(chunk);
                }
            }
            if let Some(reason) = &candidate.finish_reason {
                let state = self.candidate(index, out);
                if !state.finished {
                    state.finished = true;
                    let has_tool_calls = state.tool_calls > 0;
                    let reason =
                        finish_reason(reason, has_tool_calls, candidate.finish_message.as_deref())?;
                    out.push(self.writer.finish(index, reason));
                }
            }
        }
        Ok(())
    }
}

impl StreamTranslator for GeminiStream {
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<Bytes>) -> Result<Flow, GatewayError> {
        let response = GenerateResponse::parse(event.data.as_bytes())?;
        if let Some(error) = &response.error {
            let body = serde_json::json!({ "error": error });
            return Err(errors::from_stream_error(Provider::Google, &body));
        }
        if let Some(usage) = response.usage_metadata {
            self.usage = Some(usage);
        }
        self.translate(&response, out)?;
        Ok(Flow::Continue)
    }

    fn on_end(&mut self, out: &mut Vec<Bytes>) -> Result<(), GatewayError> {
        let complete = !self.candidates.is_empty() && self.candidates.values().all(|c| c.finished);
        if !complete {
            return Err(GatewayError::new(
                "upstream_error",
                "the Gemini stream ended before a finishReason",
            ));
        }
        out.extend(
            self.writer
                .usage(&self.usage.unwrap_or_default().to_usage()),
        );
        Ok(())
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(UsageMetadata::to_usage)
    }

    fn streamed_chars(&self) -> usize {
        self.writer.streamed_chars
    }
}
