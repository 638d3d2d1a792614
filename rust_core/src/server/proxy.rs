//! The front door: every path the data plane does not serve is forwarded to
//! the control plane over its unix socket, with both bodies streamed.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST};
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::UnixStream;

use super::http::{self as h, Body, BoxError, REQUEST_ID};
use crate::error::GatewayError;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Headers that describe one hop and must not be forwarded (RFC 9110, section 7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Connects every request to one unix socket, whatever the URI says.
#[derive(Clone)]
pub struct UnixConnector {
    path: Arc<PathBuf>,
}

impl tower_service::Service<Uri> for UnixConnector {
    type Response = TokioIo<UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let path = self.path.clone();
        Box::pin(async move { Ok(TokioIo::new(UnixStream::connect(path.as_path()).await?)) })
    }
}

/// A pooled HTTP/1.1 client for the control plane.
#[derive(Clone)]
pub struct ControlPlane {
    client: Client<UnixConnector, Limited<Incoming>>,
    probe: Client<UnixConnector, http_body_util::Empty<bytes::Bytes>>,
}

impl ControlPlane {
    pub fn new(socket: PathBuf) -> Self {
        let connector = UnixConnector {
            path: Arc::new(socket),
        };
        let client = Client::builder(TokioExecutor::new()).build(connector.clone());
        let probe = Client::builder(TokioExecutor::new()).build(connector);
        Self { client, probe }
    }

    /// GET the control plane's own `/healthz`.
    pub async fn health(&self) -> Result<(), BoxError> {
        let request = Request::get("http://control-plane/healthz")
            .body(http_body_util::Empty::new())
            .map_err(Box::new)?;
        let response = self.probe.request(request).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("health check returned {}", response.status()).into())
        }
    }

    /// Forward `request` and stream the answer back.
    ///
    /// A declared `Content-Length` over `max_body_bytes` is rejected here. A chunked body is
    /// cut off once it passes the limit, so the control plane never answers before it has
    /// read the whole body (which would break the pooled connection mid-request).
    pub async fn forward(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
        request_id: &str,
        max_body_bytes: usize,
    ) -> Response<Body> {
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > max_body_bytes as u64) {
            let err = GatewayError::new(
                "payload_too_large",
                format!("the request body exceeds the limit of {max_body_bytes} bytes"),
            );
            return h::error(&err, request_id);
        }
        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        parts.uri = match format!("http://control-plane{path}").parse() {
            Ok(uri) => uri,
            Err(_) => {
                let err = GatewayError::new("invalid_request", "request target is not a valid URI");
                return h::error(&err, request_id);
            }
        };
        strip_hop_by_hop(&mut parts.headers);
        add_forwarding_headers(&mut parts.headers, peer, request_id);
        if !parts.headers.contains_key(HOST) {
            parts
                .headers
                .insert(HOST, HeaderValue::from_static("control-plane"));
        }

        let body = Limited::new(body, max_body_bytes);
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                let body = body.map_err(|err| Box::new(err) as BoxError).boxed_unsync();
                Response::from_parts(parts, body)
            }
            Err(err) if exceeded_limit(&err) => {
                let err = GatewayError::new(
                    "payload_too_large",
                    format!("the request body exceeds the limit of {max_body_bytes} bytes"),
                );
                h::error(&err, request_id)
            }
            Err(err) if client_body_failed(&err) => {
                let err = GatewayError::new(
                    "invalid_request",
                    "the request body could not be read: it ended early or was malformed",
                );
                h::error(&err, request_id)
            }
            Err(err) => {
                tracing::error!(request_id, error = %err, "control plane request failed");
                let err = GatewayError::new("not_ready", "the control plane is unavailable")
                    .with_cause(err);
                h::error(&err, request_id)
            }
        }
    }
}

/// Whether forwarding failed because the request body passed `max_body_bytes`.
fn exceeded_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if current.is::<LengthLimitError>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Returns true when forwarding failed while reading the client's request body (cut off or badly
/// chunked), rather than on the control plane's side. Hyper reports an error of the body it
/// sends as a user error.
fn client_body_failed(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if current
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_user)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

fn add_forwarding_headers(headers: &mut HeaderMap, peer: SocketAddr, request_id: &str) {
    let peer_ip = peer.ip().to_string();
    let forwarded_for = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {peer_ip}"),
        None => peer_ip,
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    // A TLS-terminating load balancer in front sets the scheme; keep its value.
    if !headers.contains_key(X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_listed_headers_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("close, x-private"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("authorization", HeaderValue::from_static("Bearer k"));
        strip_hop_by_hop(&mut headers);
        assert!(!headers.contains_key("x-private"));
        assert!(!headers.contains_key("keep-alive"));
        assert!(!headers.contains_key(CONNECTION));
        assert!(headers.contains_key("authorization"));
    }

    #[derive(Debug)]
    struct Wrapper(Box<dyn std::error::Error + Send + Sync>);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "wrapped")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[tokio::test]
    async fn length_limit_found_in_error_chain() {
        let body = Limited::new(http_body_util::Full::new(bytes::Bytes::from("abc")), 2);
        let limit_error = match body.collect().await {
            Ok(_) => unreachable!("three bytes pass a two-byte limit"),
            Err(err) => err,
        };
        let nested = Wrapper(Box::new(Wrapper(limit_error)));
        assert!(exceeded_limit(&nested));
        let other = Wrapper(Box::new(std::io::Error::other("reset")));
        assert!(!exceeded_limit(&other));
    }

    #[test]
    fn forwarded_for_appends_peer() {
        let mut headers = HeaderMap::new();
        headers.insert(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        add_forwarding_headers(&mut headers, peer, "req_1");
        assert_eq!(headers[X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(headers[X_FORWARDED_PROTO], "http");
        assert_eq!(headers[REQUEST_ID], "req_1");
    }
}
