//! `GET /v1/models` and `GET /v1/models/{id}`: the catalog models a platform
//! can call now, in OpenAI's list format.
//!
//! A model is listed when the platform has configured and enabled its
//! provider. Both key kinds are accepted; a platform key whose owner has
//! several platforms names one with `X-Assistiv-Platform-Id`.

use http::{HeaderMap, Response, StatusCode};
use serde::Serialize;

use super::auth::{self, PlatformProviders};
use super::http::{self as h, Body};
use super::AppState;
use crate::catalog::ModelInfo;
use crate::error::GatewayError;

/// The `created` time shown for every model; the catalog has no release dates.
const CATALOG_CREATED: u64 = 0;

#[derive(Serialize)]
struct ModelObject<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelObject<'a>>,
}

fn object(model: &ModelInfo) -> ModelObject<'_> {
    ModelObject {
        id: &model.id,
        object: "model",
        created: CATALOG_CREATED,
        owned_by: model.provider.as_str(),
    }
}

fn available(configs: &PlatformProviders, model: &ModelInfo) -> bool {
    configs
        .get(&model.provider)
        .is_some_and(|config| config.enabled)
}

fn encode(value: &impl Serialize) -> Result<Response<Body>, GatewayError> {
    let body = serde_json::to_vec(value).map_err(|err| {
        GatewayError::new("internal_error", "could not encode the model list").with_cause(err)
    })?;
    Ok(h::json(StatusCode::OK, body))
}

async fn platform_configs(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<PlatformProviders>, GatewayError> {
    let record = auth::authenticate(state, headers).await?;
    let platform_id = auth::platform_of(state, &record, headers).await?;
    auth::provider_configs(state, &platform_id).await
}

/// `GET /v1/models`.
pub async fn list(state: &AppState, headers: &HeaderMap) -> Result<Response<Body>, GatewayError> {
    let configs = platform_configs(state, headers).await?;
    let data = state
        .catalog
        .models()
        .filter(|model| available(&configs, model))
        .map(|model| object(model))
        .collect();
    encode(&ModelList {
        object: "list",
        data,
    })
}

/// `GET /v1/models/{id}`; a model the platform cannot call is not found.
pub async fn retrieve(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response<Body>, GatewayError> {
    let configs = platform_configs(state, headers).await?;
    match state.catalog.get(id) {
        Some(model) if available(&configs, model) => encode(&object(model)),
        _ => Err(GatewayError::new(
            "model_not_found",
            format!("The model `{id}` does not exist or this platform cannot use it"),
        )),
    }
}
