//! The OpenAI side shared by the translating adapters: reading a chat request
//! into typed parts and writing completions and chunks back.

mod request;
mod response;

pub use request::{
    invalid, unsupported, AssistantTurn, ChatInput, FunctionTool, Media, Message, Part,
    ReasoningEffort, ResponseFormat, ToolCall, ToolChoice,
};
pub use response::{
    compact_json, completion_body, completion_id, mint_tool_call_id, tool_call_json, usage_json,
    AssistantMessage, Choice, ChunkWriter, JsonCompactor,
};
