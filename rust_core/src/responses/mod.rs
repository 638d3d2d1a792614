//! The OpenAI Responses API on top of the chat adapters.
//!
//! A Responses request becomes one chat-completions request: `instructions`
//! as a system message for this turn only, the stored conversation named by
//! `previous_response_id`, then this turn's input items. That request goes
//! through the same provider adapters as `/v1/chat/completions`, for OpenAI
//! and xAI too, so the conversation state stays in the gateway. The chat
//! chat completion, whole or as a stream of chunks, becomes the Response object or the
//! Responses event sequence. Everything here except [`store`] is plain Rust
//! without I/O.

pub mod conversation;
pub mod input;
pub mod items;
pub mod model_output;
pub mod object;
pub mod request;
pub mod store;
pub mod stream;
pub mod tools;

pub use conversation::{chat_call, ChatCall};
pub use input::{read_input, TurnInput};
pub use model_output::ModelOutput;
pub use object::{Ending, Header};
pub use request::{parse, CreateRequest};
pub use stream::EventWriter;
