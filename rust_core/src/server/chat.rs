//! `POST /v1/chat/completions`, in visible phases: authenticate, parse and
//! validate, route, admission, upstream call, relay, settlement.
//!
//! The phases from routing on live in [`complete`], which the Responses API
//! calls too with its own [`Reply`], so both endpoints share admission,
//! metering and settlement.
//!
//! Everything before admission fails fast without touching money. From
//! admission on, a [`Settlement`] guard travels with the call so that it is
//! settled exactly once: by this handler for answers sent whole, by the relay
//! task for streams, or by the guard's drop when the client disconnects.

use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use super::auth::{self, EndUser};
use super::http::{self as h, Body};
use super::meter::{self, Call, Outcome, Settlement};
use super::metrics::InFlight;
use super::relay::{self, ChatStream, StreamOutput};
use super::AppState;
use crate::catalog::ModelInfo;
use crate::error::GatewayError;
use crate::logs::{self, Attempt};
use crate::money;
use crate::translate::{self, CallContext, ChatRequest, Completion};

/// Largest upstream answer read whole (non-stream answers and error bodies).
const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// The checked parts of a chat request the gateway itself acts on.
pub(super) struct Parsed {
    pub request: ChatRequest,
    pub model: String,
    pub stream: bool,
    /// Whether the stream ends with the usage chunk.
    pub include_usage: bool,
    pub max_output_tokens: Option<u64>,
    /// The request field that set `max_output_tokens`, for error messages.
    pub max_output_param: &'static str,
    /// The number of choices requested (`n`, 1 when absent), each of which may use the whole output
    /// limit.
    pub choices: u64,
}

/// The form in which a call's completion reaches the client.
pub(super) trait Reply: Send + 'static {
    /// The framing of a streamed completion.
    type Stream: StreamOutput;

    fn into_stream(self) -> Self::Stream;

    /// Return the client's body for a completion read whole.
    fn whole(
        self,
        completion: &Completion,
    ) -> impl Future<Output = Result<Bytes, GatewayError>> + Send;
}

/// Chat completions pass the adapter's completion on unchanged.
struct ChatReply;

impl Reply for ChatReply {
    type Stream = ChatStream;

    fn into_stream(self) -> ChatStream {
        ChatStream
    }

    async fn whole(self, completion: &Completion) -> Result<Bytes, GatewayError> {
        Ok(completion.body.clone())
    }
}

pub async fn handle(
    state: Arc<AppState>,
    request: Request<Incoming>,
    request_id: &str,
    in_flight: InFlight,
) -> Result<Response<Body>, GatewayError> {
    let mut attempt = Attempt::new(request_id, "/v1/chat/completions", Instant::now());
    let result = serve(state.clone(), request, &mut attempt, in_flight).await;
    logs::log_rejection(&state, &attempt, &result);
    result
}

async fn serve(
    state: Arc<AppState>,
    request: Request<Incoming>,
    attempt: &mut Attempt,
    in_flight: InFlight,
) -> Result<Response<Body>, GatewayError> {
    // Authenticate: end-user keys only.
    let caller = authenticate(&state, request.headers(), attempt).await?;

    // Parse and validate.
    let body = read_body(request, state.config.max_body_bytes).await?;
    let parsed = parse(body)?;
    attempt.model = Some(parsed.model.clone());
    attempt.stream = parsed.stream;

    complete(state, &caller, parsed, ChatReply, attempt, in_flight).await
}

/// Authenticate an end-user key, recording in `attempt` what the key reveals:
/// the platform and key of any valid key, the end user of an end-user key.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &http::HeaderMap,
    attempt: &mut Attempt,
) -> Result<EndUser, GatewayError> {
    let key = auth::authenticate(state, headers).await?;
    attempt.platform_id = Some(key.platform_id.clone());
    attempt.key_id = Some(key.key_id.clone());
    let caller = key.end_user()?;
    attempt.end_user_id = Some(caller.end_user_id.clone());
    Ok(caller)
}

/// Serve a parsed chat request from routing to settlement, responding through `reply`.
///
/// From admission on, the settlement writes the call's log entry and
/// `attempt.settling` is set; until then the caller logs a rejection.
pub(super) async fn complete<R: Reply>(
    state: Arc<AppState>,
    caller: &EndUser,
    parsed: Parsed,
    reply: R,
    attempt: &mut Attempt,
    in_flight: InFlight,
) -> Result<Response<Body>, GatewayError> {
    let request_id = attempt.request_id.clone();
    let request_id = request_id.as_str();

    // Route: model to provider, provider to this platform's config.
    let model = state.catalog.resolve(&parsed.model)?.clone();
    attempt.model = Some(model.id.clone());
    attempt.provider = Some(model.provider);
    check_output_limit(&parsed, &model)?;
    let configs = auth::provider_configs(&state, &caller.platform_id).await?;
    let config = configs
        .get(&model.provider)
        .filter(|config| config.enabled)
        .ok_or_else(|| not_configured(&model))?;
    let api_key = config.api_key.clone().ok_or_else(|| {
        GatewayError::new(
            "internal_error",
            format!(
                "the {} API key stored for this platform cannot be decrypted with the \
                 configured master keys; set it again with `providers set`",
                model.provider.as_str()
            ),
        )
    })?;
    let adapter = translate::adapter(model.provider).ok_or_else(|| {
        GatewayError::new(
            "provider_not_configured",
            format!(
                "Requests to {} models are not supported by this gateway version yet",
                model.provider.as_str()
            ),
        )
        .with_param("model")
    })?;

    // Admission.
    let call = new_call(attempt, caller, &model, &parsed);
    let admission = meter::admit(&state, &call).await?;
    let rate_limit_headers = admission.rate_limit_headers.clone();
    let mut settlement = Settlement::new(state.clone(), call, admission, in_flight);
    attempt.settling = true;

    // Upstream call.
    let ctx = CallContext {
        upstream_model: &model.upstream_id,
        client_model: &parsed.model,
        base_url: &config.base_url,
        api_key: api_key.expose(),
        default_max_tokens: model.default_max_tokens,
        stream: parsed.stream,
        include_usage: parsed.include_usage,
        request_id,
        created: unix_seconds(),
    };
    let upstream_request = match adapter.build_request(&parsed.request, &ctx) {
        Ok(built) => built,
        Err(err) => {
            settlement.fail(&err);
            return Err(err);
        }
    };
    settlement.upstream_started = true;
    let answer = match state.upstream.send(upstream_request).await {
        Ok(answer) => answer,
        Err(err) => {
            settlement.fail(&err);
            return Err(err);
        }
    };
    settlement.upstream_latency = Some(answer.latency);
    let (parts, upstream_body) = answer.response.into_parts();

    if !parts.status.is_success() {
        let body = state
            .upstream
            .read_body(upstream_body, MAX_UPSTREAM_BODY)
            .await
            .unwrap_or_default();
        let err = adapter.parse_error(parts.status.as_u16(), &parts.headers, &body);
        tracing::warn!(
            request_id,
            provider = model.provider.as_str(),
            upstream_status = parts.status.as_u16(),
            code = err.code,
            "provider returned an error"
        );
        settlement.fail(&err);
        return Err(err);
    }

    // Relay.
    if parsed.stream {
        let translator = adapter.stream_translator(&ctx);
        let body = relay::relay(
            state.clone(),
            upstream_body,
            translator,
            reply.into_stream(),
            settlement,
            request_id.to_owned(),
        );
        let mut response = stream_response(body);
        h::add_headers(&mut response, &rate_limit_headers);
        return Ok(response);
    }
    let body = match state
        .upstream
        .read_body(upstream_body, MAX_UPSTREAM_BODY)
        .await
    {
        Ok(body) => body,
        Err(err) => {
            settlement.fail(&err);
            return Err(err);
        }
    };
    let completion = match adapter.parse_response(&body, &ctx) {
        Ok(completion) => completion,
        Err(err) => {
            settlement.fail(&err);
            return Err(err);
        }
    };

    // Settlement. A reply that fails after the provider responded (a stored response that
    // cannot be written) still pays for the usage the provider reported.
    let upstream_latency = settlement.upstream_latency;
    let body = reply.whole(&completion).await;
    let (status, error_code) = match &body {
        Ok(_) => (200, None),
        Err(err) => (err.status(), Some(err.code)),
    };
    settlement.finish(Outcome {
        status,
        error_code,
        usage: completion.usage,
        usage_estimated: false,
        upstream_latency,
        time_to_first_token: None,
    });
    let mut response = h::json(StatusCode::OK, body?);
    h::add_headers(&mut response, &rate_limit_headers);
    Ok(response)
}

fn not_configured(model: &ModelInfo) -> GatewayError {
    let provider = model.provider.as_str();
    GatewayError::new(
        "provider_not_configured",
        format!(
            "The model `{}` is served by {provider}, which this platform has not configured \
             or has disabled",
            model.id
        ),
    )
    .with_param("model")
}

/// Reject an output limit above the model's own, as the providers do, before it is
/// reserved: a limit of a trillion tokens would otherwise be refused as an empty wallet.
fn check_output_limit(parsed: &Parsed, model: &ModelInfo) -> Result<(), GatewayError> {
    let allowed = u64::from(model.max_output_tokens);
    match parsed.max_output_tokens {
        Some(limit) if limit > allowed => Err(invalid(
            parsed.max_output_param,
            format!(
                "`{}` is {limit}, but `{}` returns at most {allowed} output tokens",
                parsed.max_output_param, model.id
            ),
        )),
        _ => Ok(()),
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn new_call(attempt: &Attempt, caller: &EndUser, model: &Arc<ModelInfo>, parsed: &Parsed) -> Call {
    Call {
        request_id: attempt.request_id.clone(),
        endpoint: attempt.endpoint,
        platform_id: caller.platform_id.clone(),
        end_user_id: caller.end_user_id.clone(),
        key_id: caller.key_id.clone(),
        model: model.clone(),
        stream: parsed.stream,
        prompt_tokens_estimate: meter::estimate_tokens(parsed.request.raw.len()),
        prompt_tokens_bound: money::prompt_bound(parsed.request.raw.len(), &parsed.request.json),
        max_output_tokens: parsed
            .max_output_tokens
            .unwrap_or(u64::from(model.default_max_tokens)),
        max_output_bound: parsed
            .max_output_tokens
            .unwrap_or(u64::from(model.max_output_tokens))
            .saturating_mul(parsed.choices),
        started: attempt.started,
    }
}

fn stream_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Ask reverse proxies such as nginx not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        "payload_too_large",
        format!("the request body exceeds the limit of {limit} bytes"),
    )
}

/// Read the request body, rejecting more than `limit` bytes with 413.
pub(super) async fn read_body(
    request: Request<Incoming>,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Err(err) => Err(GatewayError::new(
            "invalid_request",
            format!("the request body could not be read: {err}"),
        )),
    }
}

fn invalid(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::new("invalid_request", message).with_param(param)
}

fn optional_bool(json: &Map<String, Value>, field: &str) -> Result<bool, GatewayError> {
    match json.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(invalid(field, format!("`{field}` must be a boolean"))),
    }
}

fn optional_count(json: &Map<String, Value>, field: &str) -> Result<Option<u64>, GatewayError> {
    match json.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64() {
            Some(count) if count >= 1 => Ok(Some(count)),
            _ => Err(invalid(
                field,
                format!("`{field}` must be a positive integer"),
            )),
        },
    }
}

/// Check the fields the gateway relies on; the provider checks the rest.
fn parse(raw: Bytes) -> Result<Parsed, GatewayError> {
    let json: Map<String, Value> = serde_json::from_slice(&raw).map_err(|err| {
        GatewayError::new(
            "invalid_json",
            format!("The request body is not a valid JSON object: {err}"),
        )
    })?;
    let model = match json.get("model") {
        None => return Err(invalid("model", "`model` is required")),
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        Some(_) => return Err(invalid("model", "`model` must be a non-empty string")),
    };
    let messages = match json.get("messages") {
        None => return Err(invalid("messages", "`messages` is required")),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err(invalid("messages", "`messages` must be an array")),
    };
    if messages.is_empty() {
        return Err(invalid(
            "messages",
            "`messages` must contain at least one message",
        ));
    }
    for (index, message) in messages.iter().enumerate() {
        let role = message.as_object().and_then(|m| m.get("role"));
        if !matches!(role, Some(Value::String(_))) {
            return Err(invalid(
                &format!("messages[{index}].role"),
                format!("`messages[{index}]` must be an object with a string `role`"),
            ));
        }
    }
    let stream = optional_bool(&json, "stream")?;
    let include_usage = match json.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(options)) => optional_bool(options, "include_usage").map_err(|_| {
            invalid(
                "stream_options.include_usage",
                "`stream_options.include_usage` must be a boolean",
            )
        })?,
        Some(_) => {
            return Err(invalid(
                "stream_options",
                "`stream_options` must be an object",
            ))
        }
    };
    let (max_output_tokens, max_output_param) =
        match optional_count(&json, "max_completion_tokens")? {
            Some(count) => (Some(count), "max_completion_tokens"),
            None => (optional_count(&json, "max_tokens")?, "max_tokens"),
        };
    let choices = optional_count(&json, "n")?.unwrap_or(1);
    Ok(Parsed {
        request: ChatRequest { raw, json },
        model,
        stream,
        include_usage,
        max_output_tokens,
        max_output_param,
        choices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(body: &str) -> GatewayError {
        match parse(Bytes::from(body.to_owned())) {
            Ok(_) => panic!("accepted {body}"),
            Err(err) => err,
        }
    }

    #[test]
    fn invalid_bodies_name_the_param() {
        let cases = [
            ("[1]", "invalid_json", None),
            ("{", "invalid_json", None),
            (
                r#"{"messages":[{"role":"user"}]}"#,
                "invalid_request",
                Some("model"),
            ),
            (
                r#"{"model":3,"messages":[{"role":"user"}]}"#,
                "invalid_request",
                Some("model"),
            ),
            (r#"{"model":"m"}"#, "invalid_request", Some("messages")),
            (
                r#"{"model":"m","messages":{}}"#,
                "invalid_request",
                Some("messages"),
            ),
            (
                r#"{"model":"m","messages":[]}"#,
                "invalid_request",
                Some("messages"),
            ),
            (
                r#"{"model":"m","messages":["hi"]}"#,
                "invalid_request",
                Some("messages[0].role"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user"}],"stream":"yes"}"#,
                "invalid_request",
                Some("stream"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":1}}"#,
                "invalid_request",
                Some("stream_options.include_usage"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user"}],"max_tokens":0}"#,
                "invalid_request",
                Some("max_tokens"),
            ),
        ];
        for (body, code, param) in cases {
            let err = parse_err(body);
            assert_eq!(err.code, code, "{body}");
            assert_eq!(err.param.as_deref(), param, "{body}");
            assert_eq!(err.status(), 400, "{body}");
        }
    }

    #[test]
    fn stream_flags_read() {
        let parsed = parse(Bytes::from_static(
            br#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":5}"#,
        ))
        .unwrap();
        assert!(parsed.stream);
        assert!(parsed.include_usage);
        assert_eq!(parsed.max_output_tokens, Some(5));
        assert_eq!(parsed.model, "m");
    }
}
