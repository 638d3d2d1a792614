//! API keys, checked as each provider checks them.
//!
//! OpenAI and xAI read `Authorization: Bearer`, Anthropic reads `x-api-key`,
//! Gemini reads `x-goog-api-key` or the `key` query parameter. A provider
//! without a configured key accepts anything. A rejected key gets the
//! provider's own error: 401 for OpenAI, xAI and Anthropic; for Gemini 403
//! PERMISSION_DENIED when no key is sent and 400 INVALID_ARGUMENT with reason
//! API_KEY_INVALID for a wrong one, as the Gemini API does.

use std::collections::HashMap;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::json;

use super::errors::{self, Shape};
use super::script::ErrorSpec;
use super::wire;
use crate::translate::Provider;

/// Read the key a request presents in `shape`'s header or query, if any.
fn presented(shape: Shape, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    match shape {
        Shape::Openai => header("authorization").and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .map(|token| token.trim().to_owned())
        }),
        Shape::Anthropic => header("x-api-key"),
        Shape::Gemini => header("x-goog-api-key").or_else(|| {
            query?
                .split('&')
                .find_map(|pair| pair.strip_prefix("key="))
                .map(str::to_owned)
        }),
    }
}

/// A rejected request: the status and the provider's error body.
#[derive(Debug)]
pub struct Rejection {
    pub status: u16,
    pub body: Bytes,
}

/// Accept the request when no provider in `providers` has a key configured, or when it
/// presents one of their keys.
pub fn check(
    keys: &HashMap<Provider, String>,
    providers: &[Provider],
    shape: Shape,
    headers: &HeaderMap,
    query: Option<&str>,
    request_id: &str,
) -> Result<(), Rejection> {
    let expected: Vec<&String> = providers.iter().filter_map(|p| keys.get(p)).collect();
    if expected.is_empty() {
        return Ok(());
    }
    let presented = presented(shape, headers, query);
    match presented {
        Some(key) if expected.iter().any(|e| **e == key) => Ok(()),
        Some(key) => Err(wrong_key(shape, &key, request_id)),
        None => Err(missing_key(shape, request_id)),
    }
}

/// Mask a key to its first 3 and last 4 characters, as OpenAI shows a wrong one.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}***{tail}")
}

fn wrong_key(shape: Shape, key: &str, request_id: &str) -> Rejection {
    match shape {
        Shape::Openai => {
            let spec = ErrorSpec {
                message: Some(format!(
                    "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    masked(key)
                )),
                ..ErrorSpec::default()
            };
            rejection(shape, 401, &spec, request_id)
        }
        Shape::Anthropic => rejection(shape, 401, &ErrorSpec::default(), request_id),
        Shape::Gemini => {
            let spec = ErrorSpec {
                message: Some("API key not valid. Please pass a valid API key.".to_owned()),
                ..ErrorSpec::default()
            };
            let details = vec![json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"}
            })];
            Rejection {
                status: 400,
                body: Bytes::from(wire::to_json(&errors::gemini_with_details(
                    400, &spec, details,
                ))),
            }
        }
    }
}

fn missing_key(shape: Shape, request_id: &str) -> Rejection {
    let (status, message) = match shape {
        Shape::Openai => (
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ),
        Shape::Anthropic => (401, "x-api-key header is required"),
        Shape::Gemini => (
            403,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        ),
    };
    let spec = ErrorSpec {
        message: Some(message.to_owned()),
        ..ErrorSpec::default()
    };
    rejection(shape, status, &spec, request_id)
}

fn rejection(shape: Shape, status: u16, spec: &ErrorSpec, request_id: &str) -> Rejection {
    Rejection {
        status,
        body: errors::body(shape, status, spec, request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::Value;

    fn keys() -> HashMap<Provider, String> {
        HashMap::from([
            (Provider::Openai, "sk-openai-key".to_owned()),
            (Provider::Xai, "xai-key-12345".to_owned()),
            (Provider::Google, "g-key".to_owned()),
        ])
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        headers.insert("authorization", value);
        headers
    }

    #[test]
    fn either_compatible_key_accepted() {
        let providers = [Provider::Openai, Provider::Xai];
        for key in ["sk-openai-key", "xai-key-12345"] {
            let result = check(&keys(), &providers, Shape::Openai, &bearer(key), None, "r");
            assert!(result.is_ok(), "{key}");
        }
    }

    #[test]
    fn wrong_openai_key_masked() {
        let providers = [Provider::Openai];
        let err = check(
            &keys(),
            &providers,
            Shape::Openai,
            &bearer("sk-wrong-value"),
            None,
            "r",
        )
        .unwrap_err();
        assert_eq!(err.status, 401);
        let body: Value = serde_json::from_slice(&err.body).unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("sk-***alue"), "{message}");
        assert!(!message.contains("wrong"), "{message}");
    }

    #[test]
    fn unconfigured_provider_accepts_anything() {
        let providers = [Provider::Anthropic];
        let result = check(
            &keys(),
            &providers,
            Shape::Anthropic,
            &HeaderMap::new(),
            None,
            "r",
        );
        assert!(result.is_ok());
    }

    #[test]
    fn gemini_key_in_query_or_header() {
        let providers = [Provider::Google];
        let ok = check(
            &keys(),
            &providers,
            Shape::Gemini,
            &HeaderMap::new(),
            Some("alt=sse&key=g-key"),
            "r",
        );
        assert!(ok.is_ok());
        let missing = check(
            &keys(),
            &providers,
            Shape::Gemini,
            &HeaderMap::new(),
            None,
            "r",
        )
        .unwrap_err();
        assert_eq!(missing.status, 403);
        let mut headers = HeaderMap::new();
        headers.insert("x-goog-api-key", HeaderValue::from_static("nope"));
        let wrong = check(&keys(), &providers, Shape::Gemini, &headers, None, "r").unwrap_err();
        assert_eq!(wrong.status, 400);
        let body: Value = serde_json::from_slice(&wrong.body).unwrap();
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(body["error"]["details"][0]["reason"], "API_KEY_INVALID");
    }
}
