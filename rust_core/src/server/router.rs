//! Routes each request to its handler and stamps `X-Request-Id` on the answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::http::{self as h, Body};
use super::{health, AppState};
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

    let mut response = match (request.method(), path.as_str()) {
        (&Method::GET, "/healthz") => health::healthz(),
        (&Method::GET, "/readyz") => health::readyz(&state, &request_id).await,
        (_, "/healthz" | "/readyz") => method_not_allowed(&method, &request_id),
        _ => {
            let limit = state.config.max_body_bytes;
            state
                .control
                .forward(request, peer, &request_id, limit)
                .await
        }
    };

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

fn method_not_allowed(method: &Method, request_id: &str) -> Response<Body> {
    let err = GatewayError::new(
        "method_not_allowed",
        format!("{method} is not allowed here"),
    );
    let mut response = h::error(&err, request_id);
    response
        .headers_mut()
        .insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
    response
}
