//! Paths of the simulator.
//!
//! Provider paths may start with `/openai`, `/xai`, `/anthropic`, `/google` or
//! `/gemini`, which fixes the provider (its API key and its flavor of the
//! format); without a prefix the path decides. The `/v1` (or Gemini's
//! `/v1beta`) segment is optional, so a base URL works with or without it:
//!
//! - `POST [/v1]/chat/completions`: OpenAI chat completions (xAI speaks the same)
//! - `POST [/v1]/responses`: the OpenAI Responses API
//! - `GET [/v1]/models`: OpenAI's model list
//! - `POST [/v1]/messages`: Anthropic Messages
//! - `POST [/v1beta]/models/{model}:generateContent` and `:streamGenerateContent`: Gemini
//! - `GET /_sim/requests?limit=&tag=&min=&wait_ms=` lists recorded requests,
//!   newest first; with `min` it waits up to `wait_ms` for that many to match.
//! - `DELETE /_sim/requests` forgets them; `GET /_sim/healthz` returns 200.
//!
//! Any other path gets a 404 in the error shape of the provider it resembles.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::errors::{self, Shape};
use super::handler::{self, json_response};
use super::record::{self, Filter};
use super::script::ErrorSpec;
use super::SimState;
use crate::server::http::{json, Body};
use crate::translate::Provider;

/// Longest wait a `GET /_sim/requests` may ask for.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A generation API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Api {
    Chat,
    Responses,
    Messages,
    /// Gemini's `generateContent` (`stream` false) or `streamGenerateContent`.
    Gemini {
        model: String,
        stream: bool,
    },
}

/// A provider path after routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The provider the response imitates.
    pub provider: Provider,
    /// Whether a path prefix named the provider.
    pub explicit: bool,
    pub api: Api,
}

impl Target {
    pub fn shape(&self) -> Shape {
        shape_of(self.provider)
    }

    /// Providers whose API key the request may present.
    pub fn accepted_providers(&self) -> Vec<Provider> {
        accepted_providers(self.provider, self.explicit)
    }
}

/// Providers whose API key a request may present: an OpenAI path without a prefix serves
/// xAI's clients too.
fn accepted_providers(provider: Provider, explicit: bool) -> Vec<Provider> {
    match (explicit, provider) {
        (false, Provider::Openai) => vec![Provider::Openai, Provider::Xai],
        (_, provider) => vec![provider],
    }
}

fn shape_of(provider: Provider) -> Shape {
    match provider {
        Provider::Openai | Provider::Xai => Shape::Openai,
        Provider::Anthropic => Shape::Anthropic,
        Provider::Google => Shape::Gemini,
    }
}

/// Where a provider path leads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Generate(Target),
    Models {
        provider: Provider,
        explicit: bool,
    },
    /// Not a known path; the provider whose 404 to send.
    Unknown(Provider),
}

fn strip_provider(path: &str) -> (Option<Provider>, &str) {
    const PREFIXES: [(&str, Provider); 5] = [
        ("/openai", Provider::Openai),
        ("/xai", Provider::Xai),
        ("/anthropic", Provider::Anthropic),
        ("/google", Provider::Google),
        ("/gemini", Provider::Google),
    ];
    for (prefix, provider) in PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            if rest.starts_with('/') {
                return (Some(provider), rest);
            }
        }
    }
    (None, path)
}

fn route(method: &Method, path: &str) -> Route {
    let (prefix, rest) = strip_provider(path);
    let rest = rest
        .strip_prefix("/v1beta")
        .or_else(|| rest.strip_prefix("/v1"))
        .filter(|r| r.starts_with('/'))
        .unwrap_or(rest);
    let generate = |default: Provider, api: Api| {
        Route::Generate(Target {
            provider: prefix.unwrap_or(default),
            explicit: prefix.is_some(),
            api,
        })
    };
    let post = method == Method::POST;
    if let Some((model, method_name)) = rest
        .strip_prefix("/models/")
        .and_then(|m| m.rsplit_once(':'))
    {
        let stream = match method_name {
            "generateContent" => Some(false),
            "streamGenerateContent" => Some(true),
            _ => None,
        };
        if let (Some(stream), true) = (stream, post && !model.is_empty() && !model.contains('/')) {
            let api = Api::Gemini {
                model: model.to_owned(),
                stream,
            };
            return generate(Provider::Google, api);
        }
    }
    match rest {
        "/chat/completions" if post => generate(Provider::Openai, Api::Chat),
        "/responses" if post => generate(Provider::Openai, Api::Responses),
        "/messages" if post => generate(Provider::Anthropic, Api::Messages),
        "/models" if method == Method::GET => Route::Models {
            provider: prefix.unwrap_or(Provider::Openai),
            explicit: prefix.is_some(),
        },
        _ => Route::Unknown(prefix.unwrap_or_else(|| resemble(path))),
    }
}

/// Guess the provider an unknown path belongs to.
fn resemble(path: &str) -> Provider {
    if path.starts_with("/v1beta") || path.contains(':') {
        Provider::Google
    } else if path.contains("/messages") {
        Provider::Anthropic
    } else {
        Provider::Openai
    }
}

pub async fn handle(
    state: Arc<SimState>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/_sim/") {
        return Ok(inspect(&state, &request, rest).await);
    }
    let response = match route(request.method(), &path) {
        Route::Generate(target) => handler::generate(state, target, request).await,
        Route::Models { provider, explicit } => models(&state, provider, explicit, &request),
        Route::Unknown(provider) => not_found(provider, request.method(), &path, &state),
    };
    Ok(response)
}

fn not_found(provider: Provider, method: &Method, path: &str, state: &SimState) -> Response<Body> {
    let shape = shape_of(provider);
    let request_id = format!("req_{}", state.serial());
    let body = match shape {
        // OpenAI's 404 for an unknown URL has a null code.
        Shape::Openai => bytes::Bytes::from(super::wire::to_json(&serde_json::json!({"error": {
            "message": format!("Invalid URL ({method} {path})"),
            "type": "invalid_request_error",
            "param": null,
            "code": null
        }}))),
        Shape::Anthropic => {
            let spec = ErrorSpec {
                message: Some("Not Found".to_owned()),
                ..ErrorSpec::default()
            };
            errors::body(shape, 404, &spec, &request_id)
        }
        Shape::Gemini => {
            let spec = ErrorSpec {
                message: Some(format!("Requested entity was not found: {method} {path}")),
                ..ErrorSpec::default()
            };
            errors::body(shape, 404, &spec, &request_id)
        }
    };
    json_response(shape, 404, body, &request_id)
}

/// Return OpenAI's model list, with a few models of each provider.
fn models(
    state: &SimState,
    provider: Provider,
    explicit: bool,
    request: &Request<Incoming>,
) -> Response<Body> {
    let shape = shape_of(provider);
    let request_id = format!("req_{}", state.serial());
    let checked = super::auth::check(
        &state.config.api_keys,
        &accepted_providers(provider, explicit),
        shape,
        request.headers(),
        request.uri().query(),
        &request_id,
    );
    if let Err(rejection) = checked {
        return json_response(shape, rejection.status, rejection.body, &request_id);
    }
    const MODELS: [(&str, &str); 6] = [
        ("gpt-4o-mini", "system"),
        ("gpt-4.1", "system"),
        ("o4-mini", "system"),
        ("grok-3-mini", "xai"),
        ("claude-sonnet-4-5", "anthropic"),
        ("gemini-2.5-flash", "google"),
    ];
    let data: Vec<serde_json::Value> = MODELS
        .iter()
        .map(|(id, owner)| {
            serde_json::json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": owner})
        })
        .collect();
    let body = serde_json::json!({"object": "list", "data": data});
    json(StatusCode::OK, super::wire::to_json(&body))
}

async fn inspect(state: &SimState, request: &Request<Incoming>, rest: &str) -> Response<Body> {
    match (request.method(), rest) {
        (&Method::GET, "healthz") => json(StatusCode::OK, &b"{\"status\":\"ok\"}"[..]),
        (&Method::GET, "requests") => {
            let query = request.uri().query().unwrap_or("");
            let mut filter = Filter::default();
            let mut min = 0;
            let mut wait = Duration::ZERO;
            for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                match name.as_ref() {
                    "tag" => filter.tag = Some(value.into_owned()),
                    "limit" => filter.limit = value.parse().ok(),
                    "min" => min = value.parse().unwrap_or(0),
                    "wait_ms" => wait = Duration::from_millis(value.parse().unwrap_or(0)),
                    _ => {}
                }
            }
            let entries = if min > 0 {
                state.recorder.wait(&filter, min, wait.min(MAX_WAIT)).await
            } else {
                state.recorder.list(&filter)
            };
            json(StatusCode::OK, record::to_json(&entries))
        }
        (&Method::DELETE, "requests") => {
            state.recorder.clear();
            let mut response = json(StatusCode::NO_CONTENT, bytes::Bytes::new());
            response.headers_mut().remove(http::header::CONTENT_TYPE);
            response
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &b"{\"error\":{\"message\":\"unknown simulator path\"}}"[..],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(provider: Provider, explicit: bool, api: Api) -> Route {
        Route::Generate(Target {
            provider,
            explicit,
            api,
        })
    }

    #[test]
    fn chat_with_and_without_v1_and_prefix() {
        for path in ["/v1/chat/completions", "/chat/completions"] {
            assert_eq!(
                route(&Method::POST, path),
                target(Provider::Openai, false, Api::Chat)
            );
        }
        assert_eq!(
            route(&Method::POST, "/xai/v1/chat/completions"),
            target(Provider::Xai, true, Api::Chat)
        );
    }

    #[test]
    fn every_api_routed() {
        assert_eq!(
            route(&Method::POST, "/v1/responses"),
            target(Provider::Openai, false, Api::Responses)
        );
        assert_eq!(
            route(&Method::POST, "/xai/responses"),
            target(Provider::Xai, true, Api::Responses)
        );
        assert_eq!(
            route(&Method::POST, "/v1/messages"),
            target(Provider::Anthropic, false, Api::Messages)
        );
        assert_eq!(
            route(&Method::POST, "/anthropic/v1/messages"),
            target(Provider::Anthropic, true, Api::Messages)
        );
        let gemini = |stream| Api::Gemini {
            model: "gemini-2.5-flash".to_owned(),
            stream,
        };
        assert_eq!(
            route(
                &Method::POST,
                "/v1beta/models/gemini-2.5-flash:generateContent"
            ),
            target(Provider::Google, false, gemini(false))
        );
        assert_eq!(
            route(
                &Method::POST,
                "/google/v1beta/models/gemini-2.5-flash:streamGenerateContent"
            ),
            target(Provider::Google, true, gemini(true))
        );
        assert_eq!(
            route(
                &Method::POST,
                "/models/gemini-2.5-flash:streamGenerateContent"
            ),
            target(Provider::Google, false, gemini(true))
        );
    }

    #[test]
    fn wrong_method_is_unknown() {
        assert_eq!(
            route(&Method::GET, "/v1/chat/completions"),
            Route::Unknown(Provider::Openai)
        );
    }

    #[test]
    fn unknown_paths_resemble_their_provider() {
        assert_eq!(
            route(&Method::POST, "/v1beta/models/x:countTokens"),
            Route::Unknown(Provider::Google)
        );
        assert_eq!(
            route(&Method::POST, "/v1/messages/batches"),
            Route::Unknown(Provider::Anthropic)
        );
        assert_eq!(
            route(&Method::POST, "/v1/embeddings"),
            Route::Unknown(Provider::Openai)
        );
    }
}
