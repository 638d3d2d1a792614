//! `GET /healthz` (the process is alive) and `GET /readyz` (its dependencies answer).

use std::time::Duration;

use http::{Response, StatusCode};

use super::http::{self as h, Body};
use super::AppState;
use crate::error::GatewayError;

const READY_TIMEOUT: Duration = Duration::from_secs(1);

pub fn healthz() -> Response<Body> {
    h::json(StatusCode::OK, &b"{\"status\":\"ok\"}"[..])
}

/// 200 when Redis and the control plane both answer within a second, else 503
/// with the first failure as the message.
pub async fn readyz(state: &AppState, request_id: &str) -> Response<Body> {
    let redis = tokio::time::timeout(READY_TIMEOUT, state.ping_redis()).await;
    let failure = match redis {
        Err(_) => Some("Redis did not answer PING within 1 s".to_owned()),
        Ok(Err(err)) => Some(format!("Redis is unreachable: {err}")),
        Ok(Ok(())) => None,
    };
    let failure = match failure {
        Some(failure) => Some(failure),
        None => match tokio::time::timeout(READY_TIMEOUT, state.control.health()).await {
            Err(_) => Some("control plane did not answer within 1 s".to_owned()),
            Ok(Err(err)) => Some(format!("control plane is unreachable: {err}")),
            Ok(Ok(())) => None,
        },
    };
    match failure {
        None => h::json(StatusCode::OK, &b"{\"status\":\"ready\"}"[..]),
        Some(message) => h::error(&GatewayError::new("not_ready", message), request_id),
    }
}
