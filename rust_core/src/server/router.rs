//! Routes each request to its handler and stamps `X-Request-Id` on the answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::http::{self as h, Body};
use super::responses::{self, StoredPath};
use super::{chat, health, models, AppState};
use crate::error::GatewayError;
use crate::ids;

pub async fn handle(
    state: Arc<AppState>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let request_id = ids::new_id("req");
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let in_flight = state.metrics.in_flight();
    let route = route_name(&path);
    let method_ok = |expected: Method| method == expected;
    let result: Result<Response<Body>, RouteError> = match path.as_str() {
        "/healthz" | "/readyz" | "/metrics" | "/v1/models" if !method_ok(Method::GET) => {
            Err(not_allowed("GET"))
        }
        "/healthz" => Ok(health::healthz()),
        "/readyz" => Ok(health::readyz(&state, &request_id).await),
        "/metrics" => Ok(state.metrics.render()),
        "/v1/chat/completions" if !method_ok(Method::POST) => Err(not_allowed("POST")),
        "/v1/chat/completions" => chat::handle(state.clone(), request, &request_id, in_flight)
            .await
            .map_err(|err| (err, None)),
        "/v1/responses" if !method_ok(Method::POST) => Err(not_allowed("POST")),
        "/v1/responses" => responses::create(state.clone(), request, &request_id, in_flight)
            .await
            .map_err(|err| (err, None)),
        _ if responses::stored_path(&path).is_some() => match responses::stored_path(&path) {
            Some(StoredPath::Response(id)) if method_ok(Method::GET) => {
                responses::retrieve(&state, &request, id)
                    .await
                    .map_err(|err| (err, None))
            }
            Some(StoredPath::Response(id)) if method_ok(Method::DELETE) => {
                responses::delete(&state, &request, id)
                    .await
                    .map_err(|err| (err, None))
            }
            Some(StoredPath::Response(_)) => Err(not_allowed("GET, DELETE")),
            Some(StoredPath::InputItems(id)) if method_ok(Method::GET) => {
                responses::input_items(&state, &request, id)
                    .await
                    .map_err(|err| (err, None))
            }
            _ => Err(not_allowed("GET")),
        },
        "/v1/models" => models::list(&state, request.headers())
            .await
            .map_err(|err| (err, None)),
        _ if path.starts_with("/v1/models/") && method_ok(Method::GET) => {
            let id = &path["/v1/models/".len()..];
            models::retrieve(&state, request.headers(), id)
                .await
                .map_err(|err| (err, None))
        }
        _ => {
            let limit = state.config.max_body_bytes;
            Ok(state
                .control
                .forward(request, peer, &request_id, limit)
                .await)
        }
    };
    let mut response = match result {
        Ok(response) => response,
        Err((err, allow)) => {
            state.metrics.record_error(err.code);
            if err.source != crate::error::Source::Client {
                tracing::warn!(request_id = %request_id, code = err.code, error = %err, "request failed");
            }
            let mut response = h::error(&err, &request_id);
            if let Some(allow) = allow {
                response
                    .headers_mut()
                    .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
            }
            response
        }
    };
    state
        .metrics
        .record_response(route, response.status().as_u16(), started.elapsed());

    h::set_request_id(&mut response, &request_id);
    tracing::debug!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "request served"
    );
    Ok(response)
}

/// A 405 error and the `Allow` header value to send with it.
type RouteError = (GatewayError, Option<&'static str>);

fn not_allowed(allow: &'static str) -> RouteError {
    let err = GatewayError::new(
        "method_not_allowed",
        format!("only {allow} is allowed here"),
    );
    (err, Some(allow))
}

/// The `route` label of the request metrics; every forwarded path shares one label.
fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/chat/completions" => "chat_completions",
        "/v1/models" => "models",
        _ if path.starts_with("/v1/models/") => "models",
        "/v1/responses" => "responses",
        _ if responses::stored_path(path).is_some() => "responses",
        "/metrics" => "metrics",
        "/healthz" | "/readyz" => "health",
        _ => "control_plane",
    }
}
