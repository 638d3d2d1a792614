//! The pooled HTTP client that calls providers: TLS (rustls with the Mozilla
//! root store) for `https://` base URLs, plain HTTP for `http://` ones such as
//! a local simulator, keep-alive connections reused across requests.
//!
//! Three timeouts bound a call: connecting (`upstream_connect_timeout_ms`),
//! waiting for the response headers (`upstream_first_byte_timeout_ms`) and
//! waiting between two reads of the body (`upstream_idle_timeout_ms`). Each
//! gives 504 `upstream_timeout`; a refused or reset connection gives 502
//! `upstream_error`.

use std::error::Error as _;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::Config;
use crate::error::GatewayError;
use crate::translate::UpstreamRequest;

/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    connect_timeout: Duration,
    first_byte_timeout: Duration,
    pub idle_timeout: Duration,
}

/// A response whose headers arrived, with the time they took.
pub struct Answer {
    pub response: Response<Incoming>,
    pub latency: Duration,
}

fn timed_out(what: &str, after: Duration) -> GatewayError {
    GatewayError::new(
        "upstream_timeout",
        format!(
            "the provider did not {what} within {} ms",
            after.as_millis()
        ),
    )
}

/// Check whether an I/O timeout is somewhere in the error's source chain.
fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        current = err.source();
    }
    false
}

impl Upstream {
    pub fn new(config: &Config) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.upstream_connect_timeout()));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Self {
            client,
            connect_timeout: config.upstream_connect_timeout(),
            first_byte_timeout: config.upstream_first_byte_timeout(),
            idle_timeout: config.upstream_idle_timeout(),
        }
    }

    /// Send `request` and wait for the response headers.
    pub async fn send(&self, request: UpstreamRequest) -> Result<Answer, GatewayError> {
        let uri: http::Uri = request.url.parse().map_err(|_| {
            GatewayError::new(
                "upstream_error",
                "the provider base URL configured for this platform is not a valid URL",
            )
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(GatewayError::new(
                "upstream_error",
                "the provider base URL configured for this platform must start with http:// or https://",
            ));
        }
        let mut builder = Request::post(uri);
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers;
        }
        let request = builder.body(Full::new(request.body)).map_err(|err| {
            GatewayError::new("upstream_error", "could not build the upstream request")
                .with_cause(err)
        })?;

        let started = Instant::now();
        let response = tokio::time::timeout(self.first_byte_timeout, self.client.request(request))
            .await
            .map_err(|_| timed_out("send response headers", self.first_byte_timeout))?;
        let response = response.map_err(|err| {
            if is_timeout(&err) {
                timed_out("accept the connection", self.connect_timeout)
            } else if err.is_connect() {
                let reason = err
                    .source()
                    .map_or_else(|| err.to_string(), ToString::to_string);
                GatewayError::new(
                    "upstream_error",
                    format!("could not connect to the provider: {reason}"),
                )
                .with_cause(err)
            } else {
                GatewayError::new("upstream_error", "the connection to the provider failed")
                    .with_cause(err)
            }
        })?;
        Ok(Answer {
            response,
            latency: started.elapsed(),
        })
    }

    /// Read a whole body, waiting at most the idle timeout between reads.
    pub async fn read_body(&self, mut body: Incoming, limit: usize) -> Result<Bytes, GatewayError> {
        let mut collected = BytesMut::new();
        loop {
            let frame = tokio::time::timeout(self.idle_timeout, body.frame())
                .await
                .map_err(|_| timed_out("send more of its response", self.idle_timeout))?;
            let Some(frame) = frame else {
                return Ok(collected.freeze());
            };
            let frame = frame.map_err(|err| {
                GatewayError::new("upstream_error", "the provider's response was cut off")
                    .with_cause(err)
            })?;
            if let Ok(data) = frame.into_data() {
                if collected.len() + data.len() > limit {
                    return Err(GatewayError::new(
                        "upstream_error",
                        format!("the provider's response exceeds {limit} bytes"),
                    ));
                }
                collected.extend_from_slice(&data);
            }
        }
    }
}
