//! `/v1/responses`: create a response, retrieve or delete a stored one, and
//! list its input items. End-user keys only, as for chat completions.
//!
//! Creating a response authenticates, checks the body, rebuilds the stored
//! conversation named by `previous_response_id` and turns it all into one chat
//! request, which then takes the chat path through [`chat::complete`]:
//! routing, admission, the provider adapter, the relay and settlement. A
//! [`Turn`] shapes the model output into the Response object or its event stream and
//! stores the response before the client receives its final event.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use super::auth::{self, EndUser};
use super::chat::{self, Parsed, Reply};
use super::http::{self as h, Body};
use super::metrics::InFlight;
use super::relay::StreamOutput;
use super::AppState;
use crate::error::GatewayError;
use crate::ids;
use crate::logs::{self, Attempt};
use crate::responses::object::{output_items, Ending, Header};
use crate::responses::store::{self, Conversation, Record};
use crate::responses::{self as api, items, EventWriter, ModelOutput};
use crate::translate::{ChatRequest, Completion};

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// A path below `/v1/responses/` that names a stored response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredPath<'a> {
    /// `/v1/responses/{id}`
    Response(&'a str),
    /// `/v1/responses/{id}/input_items`
    InputItems(&'a str),
}

/// Match `path` against the stored-response routes.
pub fn stored_path(path: &str) -> Option<StoredPath<'_>> {
    let rest = path.strip_prefix("/v1/responses/")?;
    match rest.split_once('/') {
        None if !rest.is_empty() => Some(StoredPath::Response(rest)),
        Some((id, "input_items")) if !id.is_empty() => Some(StoredPath::InputItems(id)),
        _ => None,
    }
}

fn unix_seconds() -> u64 {
    ids::now_millis() / 1000
}

fn encode(value: &Value) -> Bytes {
    Bytes::from(value.to_string())
}

async fn end_user(state: &AppState, headers: &HeaderMap) -> Result<EndUser, GatewayError> {
    auth::authenticate(state, headers).await?.end_user()
}

/// `POST /v1/responses`.
pub async fn create(
    state: Arc<AppState>,
    request: Request<Incoming>,
    request_id: &str,
    in_flight: InFlight,
) -> Result<Response<Body>, GatewayError> {
    let mut attempt = Attempt::new(request_id, "/v1/responses", Instant::now());
    let result = create_response(state.clone(), request, &mut attempt, in_flight).await;
    logs::log_rejection(&state, &attempt, &result);
    result
}

async fn create_response(
    state: Arc<AppState>,
    request: Request<Incoming>,
    attempt: &mut Attempt,
    in_flight: InFlight,
) -> Result<Response<Body>, GatewayError> {
    // Authenticate: end-user keys only.
    let caller = chat::authenticate(&state, request.headers(), attempt).await?;

    // Parse and validate.
    let body = chat::read_body(request, state.config.max_body_bytes).await?;
    let request = api::parse(&body)?;
    attempt.model = Some(request.model.clone());
    attempt.stream = request.stream;
    let input = api::read_input(&request.input, &mut ids::new_id)?;

    // Rebuild the conversation. Replayed messages depend on the provider they go to.
    let provider = state.catalog.resolve(&request.model)?.provider;
    let conversation = match &request.previous_response_id {
        Some(previous) => {
            let mut conn = state.redis.clone();
            store::load_conversation(
                &mut conn,
                &caller.platform_id,
                &caller.end_user_id,
                previous,
            )
            .await?
        }
        None => Conversation::default(),
    };
    let call = api::chat_call(&request, &conversation.messages, &input, provider);
    let raw = serde_json::to_vec(&call.body).map_err(|err| {
        GatewayError::new("internal_error", "could not encode the chat request").with_cause(err)
    })?;
    let parsed = Parsed {
        request: ChatRequest {
            raw: Bytes::from(raw),
            json: call.body.clone(),
        },
        model: request.model.clone(),
        stream: request.stream,
        // The Response object always reports usage, so the stream must carry it.
        include_usage: true,
        max_output_tokens: request.max_output_tokens,
        max_output_param: "max_output_tokens",
        choices: 1,
    };

    let turn = Turn {
        state: state.clone(),
        platform_id: caller.platform_id.clone(),
        end_user_id: caller.end_user_id.clone(),
        header: Header {
            id: ids::new_id("resp"),
            created_at: unix_seconds(),
            model: request.model.clone(),
            settings: request.settings.clone(),
        },
        store: request.store,
        previous_response_id: request.previous_response_id.clone(),
        chain: conversation.chain,
        input_items: input.items,
        input_messages: input.messages,
    };
    chat::complete(state, &caller, parsed, turn, attempt, in_flight)
        .await
        .map_err(|err| call.client_error(err))
}

/// One new response: who made it, its input, and where its conversation continues.
struct Turn {
    state: Arc<AppState>,
    platform_id: String,
    end_user_id: String,
    header: Header,
    store: bool,
    previous_response_id: Option<String>,
    /// The earlier responses of the conversation, oldest first.
    chain: Vec<String>,
    input_items: Vec<Value>,
    /// The chat messages of this turn's input, without instructions.
    input_messages: Vec<Value>,
}

impl Turn {
    /// Store the finished response when the request asked for it.
    async fn save(&self, model_output: &ModelOutput, response: &Value) -> Result<(), GatewayError> {
        if !self.store {
            return Ok(());
        }
        let mut messages = self.input_messages.clone();
        messages.extend(model_output.history_message());
        let record = Record {
            id: self.header.id.clone(),
            end_user_id: self.end_user_id.clone(),
            previous_response_id: self.previous_response_id.clone(),
            ancestors: self.chain.clone(),
            model: self.header.model.clone(),
            created_at: self.header.created_at,
            response: response.clone(),
            input_items: self.input_items.clone(),
            messages,
        };
        let ttl = u64::from(self.state.config.response_retention_days) * SECONDS_PER_DAY;
        let mut conn = self.state.redis.clone();
        store::save(&mut conn, &self.platform_id, &record, ttl)
            .await
            .map_err(|err| {
                tracing::error!(
                    response_id = %record.id,
                    platform_id = %self.platform_id,
                    error = %err,
                    "the response could not be stored"
                );
                err
            })
    }
}

impl Reply for Turn {
    type Stream = TurnStream;

    fn into_stream(self) -> TurnStream {
        let writer = EventWriter::new(self.header.clone(), Box::new(ids::new_id));
        TurnStream { turn: self, writer }
    }

    async fn whole(self, completion: &Completion) -> Result<Bytes, GatewayError> {
        let model_output = ModelOutput::from_completion(&completion.body, completion.usage)?;
        let output = output_items(&model_output, &mut ids::new_id);
        let ending = Ending::of(&model_output, unix_seconds());
        let response = self
            .header
            .render(&ending, output, model_output.usage.as_ref());
        self.save(&model_output, &response).await?;
        Ok(encode(&response))
    }
}

/// The Responses event stream of one turn.
struct TurnStream {
    turn: Turn,
    writer: EventWriter,
}

impl StreamOutput for TurnStream {
    fn start(&mut self) -> Option<Bytes> {
        Some(self.writer.start())
    }

    fn chunks(&mut self, chunks: &mut Vec<Bytes>, out: &mut BytesMut) -> Result<(), GatewayError> {
        for chunk in chunks.drain(..) {
            self.writer.chunk(&chunk, out)?;
        }
        Ok(())
    }

    async fn done(&mut self) -> Result<Bytes, GatewayError> {
        let (closing, response) = self.writer.finish(unix_seconds());
        // Stored before the final event goes out, so a client may chain from it at once.
        self.turn
            .save(self.writer.model_output(), &response)
            .await?;
        let mut out = BytesMut::from(&closing[..]);
        out.extend_from_slice(&self.writer.terminal(&response));
        Ok(out.freeze())
    }

    fn failed(&mut self, err: &GatewayError, _request_id: &str) -> Bytes {
        self.writer.fail(err)
    }
}

/// `GET /v1/responses/{id}`.
pub async fn retrieve(
    state: &AppState,
    request: &Request<Incoming>,
    id: &str,
) -> Result<Response<Body>, GatewayError> {
    let caller = end_user(state, request.headers()).await?;
    let query = request.uri().query().unwrap_or_default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "stream" && value == "true" {
            return Err(api::request::unsupported(
                "stream",
                "replaying a stored response as a stream is not supported",
            ));
        }
    }
    let mut conn = state.redis.clone();
    let text = store::read_field(
        &mut conn,
        &caller.platform_id,
        &caller.end_user_id,
        id,
        "response",
    )
    .await?;
    Ok(h::json(StatusCode::OK, text))
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete(
    state: &AppState,
    request: &Request<Incoming>,
    id: &str,
) -> Result<Response<Body>, GatewayError> {
    let caller = end_user(state, request.headers()).await?;
    let mut conn = state.redis.clone();
    store::delete(&mut conn, &caller.platform_id, &caller.end_user_id, id).await?;
    let body = json!({"id": id, "object": "response", "deleted": true});
    Ok(h::json(StatusCode::OK, encode(&body)))
}

/// `GET /v1/responses/{id}/input_items`.
pub async fn input_items(
    state: &AppState,
    request: &Request<Incoming>,
    id: &str,
) -> Result<Response<Body>, GatewayError> {
    let caller = end_user(state, request.headers()).await?;
    let query = items::parse_query(request.uri().query())?;
    let mut conn = state.redis.clone();
    let stored =
        store::input_items(&mut conn, &caller.platform_id, &caller.end_user_id, id).await?;
    let page = items::page(&stored, &query)?;
    Ok(h::json(StatusCode::OK, encode(&page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_paths_matched() {
        assert_eq!(
            stored_path("/v1/responses/resp_1"),
            Some(StoredPath::Response("resp_1"))
        );
        assert_eq!(
            stored_path("/v1/responses/resp_1/input_items"),
            Some(StoredPath::InputItems("resp_1"))
        );
        assert_eq!(stored_path("/v1/responses/"), None);
        assert_eq!(stored_path("/v1/responses/resp_1/cancel"), None);
        assert_eq!(stored_path("/v1/responses"), None);
    }
}
