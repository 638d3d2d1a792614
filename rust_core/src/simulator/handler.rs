//! One generation request: check it as the provider would, build the scripted
//! reply, record the request, and send the response.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::errors::{self, Shape};
use super::record::{NewEntry, Outcome, Tracker};
use super::router::{Api, Target};
use super::script::{self, Delivery, Directive, Eol, ErrorSpec, Prompt, Reply};
use super::stream::{self, Script};
use super::wire::Call;
use super::{anthropic, auth, chat, gemini, responses, Invalid, SimState};
use crate::server::http::{full, Body};

/// Request bodies above this size get a 413.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A request body read by its format.
enum Parsed {
    Chat(chat::ChatRequest),
    Responses(responses::ResponsesRequest),
    Messages(anthropic::MessagesRequest),
    Gemini(gemini::GeminiRequest),
}

impl Parsed {
    fn read(api: &Api, body: &Value, query: Option<&str>) -> Result<Self, Invalid> {
        match api {
            Api::Chat => chat::read(body).map(Parsed::Chat),
            Api::Responses => responses::read(body).map(Parsed::Responses),
            Api::Messages => anthropic::read(body).map(Parsed::Messages),
            Api::Gemini { model, stream } => {
                let sse = query.unwrap_or("").split('&').any(|pair| pair == "alt=sse");
                gemini::read(body, model, *stream, sse).map(Parsed::Gemini)
            }
        }
    }

    fn prompt(&self) -> &Prompt {
        match self {
            Parsed::Chat(request) => &request.prompt,
            Parsed::Responses(request) => &request.prompt,
            Parsed::Messages(request) => &request.prompt,
            Parsed::Gemini(request) => &request.prompt,
        }
    }

    fn stream(&self) -> bool {
        match self {
            Parsed::Chat(request) => request.stream,
            Parsed::Responses(request) => request.stream,
            Parsed::Messages(request) => request.stream,
            Parsed::Gemini(request) => request.stream,
        }
    }

    fn render(&self, reply: &Reply, call: &Call<'_>) -> Bytes {
        match self {
            Parsed::Chat(request) => chat::render(request, reply, call),
            Parsed::Responses(request) => responses::render(request, reply, call),
            Parsed::Messages(request) => anthropic::render(request, reply, call),
            Parsed::Gemini(request) => gemini::render(request, reply, call),
        }
    }

    fn script(&self, reply: &Reply, call: &Call<'_>) -> Script {
        match self {
            Parsed::Chat(request) => chat::stream(request, reply, call),
            Parsed::Responses(request) => responses::stream(request, reply, call),
            Parsed::Messages(request) => anthropic::stream(request, reply, call),
            Parsed::Gemini(request) => gemini::stream(request, reply, call),
        }
    }

    fn stream_content_type(&self) -> &'static str {
        match self {
            Parsed::Gemini(request) if request.sse => "text/event-stream",
            Parsed::Gemini(_) => "application/json; charset=UTF-8",
            _ => "text/event-stream; charset=utf-8",
        }
    }
}

/// The simulator's decision about a request.
enum Plan {
    /// An error response with this status and body.
    Reject {
        status: u16,
        body: Bytes,
        retry_after: Option<u64>,
    },
    Reply(Box<Scripted>),
}

/// A parsed request and the reply scripted for it.
struct Scripted {
    parsed: Parsed,
    reply: Reply,
}

/// A plan and the settings every response shares.
struct Decision {
    plan: Plan,
    delivery: Delivery,
    tag: Option<String>,
    headers: Vec<(String, String)>,
}

pub async fn generate(
    state: Arc<SimState>,
    target: Target,
    request: Request<Incoming>,
) -> Response<Body> {
    let serial = state.serial();
    let request_id = format!("req_{serial}");
    let (parts, body) = request.into_parts();
    let shape = target.shape();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let spec = ErrorSpec::default();
            let body = errors::body(shape, 413, &spec, &request_id);
            return json_response(shape, 413, body, &request_id);
        }
    };

    let digest = body_digest(&body);
    let decision = decide(&state, &target, &parts, &body, digest, &request_id);
    let status = match &decision.plan {
        Plan::Reject { status, .. } => *status,
        Plan::Reply(_) => 200,
    };
    let tracker = state.recorder.record(NewEntry {
        provider: target.provider.as_str(),
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: body.clone(),
        tag: decision.tag.clone(),
        status,
    });
    tracing::debug!(
        request_id = %request_id,
        provider = target.provider.as_str(),
        path = parts.uri.path(),
        status,
        "simulator request"
    );
    let delivery = &decision.delivery;
    if delivery.hang_before {
        tracker.finish(Outcome::Hung);
        std::future::pending::<()>().await;
    }

    let mut response = match decision.plan {
        Plan::Reject {
            status,
            body,
            retry_after,
        } => {
            sleep(delivery.latency).await;
            tracker.finish(Outcome::Completed);
            let mut response = json_response(shape, status, body, &request_id);
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Plan::Reply(scripted) => {
            let Scripted { parsed, reply } = *scripted;
            let call = Call {
                provider: target.provider,
                serial: &serial,
                created: crate::ids::now_millis() / 1000,
                eol: delivery.eol.unwrap_or(Eol::Lf),
                body_digest: digest,
                error_after: delivery.faults.error_after.unwrap_or(0),
            };
            respond(
                &parsed,
                &reply,
                &call,
                delivery,
                tracker,
                shape,
                &request_id,
            )
            .await
        }
    };
    for (name, value) in &decision.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Check the request and script the response, without any I/O.
fn decide(
    state: &SimState,
    target: &Target,
    parts: &Parts,
    body: &Bytes,
    digest: u64,
    request_id: &str,
) -> Decision {
    let shape = target.shape();
    let reject = |status: u16, spec: &ErrorSpec| Plan::Reject {
        status,
        body: errors::body(shape, status, spec, request_id),
        retry_after: None,
    };
    let mut decision = Decision {
        plan: reject(400, &ErrorSpec::default()),
        delivery: default_delivery(state, digest),
        tag: None,
        headers: Vec::new(),
    };
    let json: Option<Value> = serde_json::from_slice(body).ok();
    decision.tag = json.as_ref().and_then(body_tag);

    let keys = &state.config.api_keys;
    let providers = target.accepted_providers();
    if let Err(rejection) = auth::check(
        keys,
        &providers,
        shape,
        &parts.headers,
        parts.uri.query(),
        request_id,
    ) {
        decision.plan = Plan::Reject {
            status: rejection.status,
            body: rejection.body,
            retry_after: None,
        };
        return decision;
    }
    let Some(json) = json.filter(Value::is_object) else {
        decision.plan = reject(
            400,
            &invalid_spec(&Invalid::new(invalid_json_message(shape))),
        );
        return decision;
    };
    if target.api == Api::Messages && !parts.headers.contains_key(anthropic::VERSION_HEADER) {
        let message = format!("{}: header is required", anthropic::VERSION_HEADER);
        decision.plan = reject(400, &invalid_spec(&Invalid::new(message)));
        return decision;
    }
    let parsed = match Parsed::read(&target.api, &json, parts.uri.query()) {
        Ok(parsed) => parsed,
        Err(invalid) => {
            decision.plan = reject(400, &invalid_spec(&invalid));
            return decision;
        }
    };
    let directive = match script::prompt_directive(parsed.prompt()) {
        Ok(directive) => directive.unwrap_or_default(),
        Err(message) => {
            decision.plan = reject(400, &invalid_spec(&Invalid::new(message)));
            return decision;
        }
    };
    if let Some(tag) = &directive.tag {
        decision.tag = Some(tag.clone());
    }
    decision.headers = directive
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match script::delivery(&directive, &state.defaults, digest) {
        Ok(delivery) => decision.delivery = delivery,
        Err(message) => {
            let message = format!("invalid {} directive: {message}", script::MARKER);
            decision.plan = reject(400, &invalid_spec(&Invalid::new(message)));
            return decision;
        }
    }
    decision.plan = plan_reply(shape, parsed, &directive, request_id);
    decision
}

fn plan_reply(shape: Shape, parsed: Parsed, directive: &Directive, request_id: &str) -> Plan {
    if let Some(status) = directive.status.filter(|s| (400..=599).contains(s)) {
        return Plan::Reject {
            status,
            body: errors::body(shape, status, &directive.error, request_id),
            retry_after: directive.retry_after,
        };
    }
    let reply = script::build_reply(parsed.prompt(), directive);
    Plan::Reply(Box::new(Scripted { parsed, reply }))
}

async fn respond(
    parsed: &Parsed,
    reply: &Reply,
    call: &Call<'_>,
    delivery: &Delivery,
    tracker: Tracker,
    shape: Shape,
    request_id: &str,
) -> Response<Body> {
    if parsed.stream() {
        sleep(delivery.latency).await;
        let script = parsed.script(reply, call);
        let mut response = Response::new(stream::body(script, delivery, tracker));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(parsed.stream_content_type()),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        set_request_id(&mut response, shape, request_id);
        return response;
    }

    let pieces = (reply.text.len() + reply.reasoning.len()) as u32
        + reply
            .tool_calls
            .iter()
            .map(|t| t.pieces.len() as u32)
            .sum::<u32>();
    let generation = if pieces == 0 {
        Duration::ZERO
    } else {
        delivery.ttft + delivery.per_token * (pieces - 1)
    };
    sleep(delivery.latency + generation).await;
    let json = parsed.render(reply, call);
    let plain =
        delivery.faults == script::Faults::default() && delivery.split == super::split::Split::None;
    if plain {
        tracker.finish(Outcome::Completed);
        return json_response(shape, 200, json, request_id);
    }
    let mut response = Response::new(stream::json_body(json, delivery, tracker));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(json_content_type(shape)),
    );
    set_request_id(&mut response, shape, request_id);
    response
}

async fn sleep(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

fn json_content_type(shape: Shape) -> &'static str {
    match shape {
        Shape::Gemini => "application/json; charset=UTF-8",
        Shape::Openai | Shape::Anthropic => "application/json",
    }
}

/// Build a JSON response with the provider's request-id header.
pub fn json_response(shape: Shape, status: u16, body: Bytes, request_id: &str) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(json_content_type(shape)),
    );
    set_request_id(&mut response, shape, request_id);
    response
}

fn set_request_id(response: &mut Response<Body>, shape: Shape, request_id: &str) {
    let name = match shape {
        Shape::Openai => "x-request-id",
        Shape::Anthropic => "request-id",
        Shape::Gemini => return,
    };
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(name, value);
    }
}

fn invalid_spec(invalid: &Invalid) -> ErrorSpec {
    ErrorSpec {
        message: Some(invalid.message.clone()),
        param: invalid.param.clone(),
        ..ErrorSpec::default()
    }
}

fn invalid_json_message(shape: Shape) -> &'static str {
    match shape {
        Shape::Openai => "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        Shape::Anthropic => "The request body is not valid JSON.",
        Shape::Gemini => "Invalid JSON payload received.",
    }
}

/// Read the correlation value of a request body: `user`, else `metadata.user_id`.
fn body_tag(body: &Value) -> Option<String> {
    let user = body.get("user").and_then(Value::as_str);
    let metadata = || body.get("metadata")?.get("user_id")?.as_str();
    user.or_else(metadata).map(str::to_owned)
}

/// Hash the body to the first 8 bytes of its SHA-256.
fn body_digest(body: &[u8]) -> u64 {
    let hash = Sha256::digest(body);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}

fn default_delivery(state: &SimState, digest: u64) -> Delivery {
    // An empty directive cannot fail to combine with valid defaults.
    script::delivery(&Directive::default(), &state.defaults, digest).unwrap_or(Delivery {
        latency: Duration::ZERO,
        ttft: Duration::ZERO,
        per_token: Duration::ZERO,
        split: super::split::Split::None,
        eol: None,
        seed: 0,
        faults: script::Faults::default(),
        hang_before: false,
    })
}
