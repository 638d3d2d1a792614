//! The simulator over real sockets, with hyper as the client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::{serve, SimConfig, SimState};
use crate::sse;

struct Server {
    addr: SocketAddr,
    _stop: watch::Sender<bool>,
}

async fn start(config: serde_json::Value) -> Server {
    let config = SimConfig::from_json(&config.to_string())
        .unwrap()
        .check()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(SimState::new(config));
    let (stop, signal) = watch::channel(false);
    tokio::spawn(serve(listener, state, signal, Duration::from_millis(50)));
    Server { addr, _stop: stop }
}

/// One response as the client saw it.
struct Received {
    status: u16,
    headers: HeaderMap,
    /// The data frames in the order they arrived.
    chunks: Vec<Bytes>,
    /// Whether the body ended with an error instead of its end.
    failed: bool,
}

impl Received {
    fn bytes(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes()).unwrap()
    }

    fn events(&self) -> Vec<sse::Event> {
        let mut parser = sse::Parser::new();
        let mut out = Vec::new();
        for chunk in &self.chunks {
            parser.feed(chunk, &mut out);
        }
        parser.finish();
        out
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Received {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "simulator")
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let response = sender
        .send_request(request.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let (parts, mut body) = response.into_parts();
    let mut chunks = Vec::new();
    let mut failed = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    chunks.push(data);
                }
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    Received {
        status: parts.status.as_u16(),
        headers: parts.headers,
        chunks,
        failed,
    }
}

async fn post(addr: SocketAddr, path: &str, body: Value) -> Received {
    send(addr, "POST", path, &[], body).await
}

fn chat(text: &str, stream: bool) -> Value {
    json!({"model": "gpt-test", "stream": stream, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn chat_non_stream_returns_json() {
    let server = start(json!({})).await;
    let received = post(server.addr, "/v1/chat/completions", chat("hi", false)).await;
    assert_eq!(received.status, 200);
    assert_eq!(received.header("content-type"), "application/json");
    assert!(received.header("x-request-id").starts_with("req_sim"));
    let body = received.json();
    assert_eq!(body["object"], "chat.completion");
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        text,
        super::script::default_text(&super::script::digest("hi"))
    );
}

#[tokio::test]
async fn identical_requests_get_identical_content() {
    let server = start(json!({})).await;
    let first = post(server.addr, "/chat/completions", chat("same", false))
        .await
        .json();
    let second = post(server.addr, "/chat/completions", chat("same", false))
        .await
        .json();
    assert_eq!(first["choices"], second["choices"]);
    assert_eq!(first["usage"], second["usage"]);
    assert_ne!(first["id"], second["id"]);
}

#[tokio::test]
async fn chat_stream_parses_and_ends_with_done() {
    let server = start(json!({})).await;
    let received = post(
        server.addr,
        "/v1/chat/completions",
        chat("#sim {\"text\": \"a b c\"}", true),
    )
    .await;
    assert_eq!(
        received.header("content-type"),
        "text/event-stream; charset=utf-8"
    );
    let events = received.events();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    // Role chunk, three pieces, the finish chunk and [DONE].
    assert_eq!(events.len(), 6);
    assert!(!received.failed);
}

#[tokio::test]
async fn adversarial_split_cuts_characters_and_reassembles() {
    let server = start(json!({})).await;
    let text =
        "#sim {\"text\": \"héllo wörld 🙂 done\", \"split\": \"adversarial\", \"eol\": \"crlf\"}";
    let split = post(server.addr, "/v1/chat/completions", chat(text, true)).await;
    let plain_text = text.replace("\"split\": \"adversarial\", ", "");
    let plain = post(server.addr, "/v1/chat/completions", chat(&plain_text, true)).await;
    let data = |received: &Received| -> Vec<Value> {
        let events = received.events();
        events[..events.len() - 1]
            .iter()
            .map(|e| {
                let mut chunk: Value = serde_json::from_str(&e.data).unwrap();
                chunk["id"] = Value::Null;
                chunk
            })
            .collect()
    };
    assert_eq!(data(&split), data(&plain));
    let cut_inside_character = split
        .chunks
        .iter()
        .any(|chunk| std::str::from_utf8(chunk).is_err());
    assert!(cut_inside_character);
    let cut_between_cr_and_lf = split.chunks.iter().any(|chunk| chunk.ends_with(b"\r"));
    assert!(cut_between_cr_and_lf);
    assert!(plain.chunks.iter().all(|c| std::str::from_utf8(c).is_ok()));
}

#[tokio::test]
async fn bytes_split_writes_fixed_sizes() {
    let server = start(json!({"split": "bytes:5"})).await;
    let received = post(server.addr, "/v1/chat/completions", chat("x", false)).await;
    assert!(received.chunks.len() > 10);
    assert!(received.chunks.iter().all(|c| c.len() <= 5));
    assert_eq!(received.json()["object"], "chat.completion");
}

#[tokio::test]
async fn cut_after_closes_mid_stream() {
    let server = start(json!({})).await;
    let received = post(
        server.addr,
        "/v1/chat/completions",
        chat("#sim {\"cut_after\": 2}", true),
    )
    .await;
    assert_eq!(received.status, 200);
    assert!(received.failed);
    assert_eq!(received.events().len(), 2);
}

#[tokio::test]
async fn error_after_sends_error_event_without_done() {
    let server = start(json!({})).await;
    let received = post(
        server.addr,
        "/v1/chat/completions",
        chat("#sim {\"error_after\": 1}", true),
    )
    .await;
    let events = received.events();
    assert_eq!(events.len(), 2);
    let error: Value = serde_json::from_str(&events[1].data).unwrap();
    assert_eq!(error["error"]["type"], "server_error");
    assert!(!received.failed);
}

#[tokio::test]
async fn malformed_after_inserts_non_json() {
    let server = start(json!({})).await;
    let received = post(
        server.addr,
        "/v1/chat/completions",
        chat("#sim {\"malformed_after\": 1}", true),
    )
    .await;
    let events = received.events();
    assert!(serde_json::from_str::<Value>(&events[1].data).is_err());
    assert_eq!(events.last().unwrap().data, "[DONE]");
}

#[tokio::test]
async fn directive_status_with_retry_after() {
    let server = start(json!({})).await;
    let text = "#sim {\"status\": 429, \"retry_after\": 3, \"headers\": {\"x-ratelimit-remaining-requests\": \"0\"}}";
    let received = post(server.addr, "/v1/chat/completions", chat(text, true)).await;
    assert_eq!(received.status, 429);
    assert_eq!(received.header("retry-after"), "3");
    assert_eq!(received.header("x-ratelimit-remaining-requests"), "0");
    assert_eq!(received.json()["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn bad_directive_is_a_400() {
    let server = start(json!({})).await;
    let received = post(
        server.addr,
        "/v1/chat/completions",
        chat("#sim {\"bogus\": 1}", false),
    )
    .await;
    assert_eq!(received.status, 400);
    let message = received.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("unknown field `bogus`"), "{message}");
}

#[tokio::test]
async fn wrong_key_rejected_and_recorded_as_fingerprint() {
    let server = start(json!({"api_keys": {"openai": "sk-right"}})).await;
    let headers = [("authorization", "Bearer sk-wrong-key-value")];
    let received = send(
        server.addr,
        "POST",
        "/v1/chat/completions",
        &headers,
        chat("x", false),
    )
    .await;
    assert_eq!(received.status, 401);
    assert_eq!(received.json()["error"]["code"], "invalid_api_key");
    let ok = send(
        server.addr,
        "POST",
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-right")],
        chat("x", false),
    )
    .await;
    assert_eq!(ok.status, 200);

    let listing = send(
        server.addr,
        "GET",
        "/_sim/requests?limit=2",
        &[],
        Value::Null,
    )
    .await
    .json();
    let entries = listing["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[1]["status"], 401);
    assert_eq!(
        entries[1]["headers"]["authorization"],
        format!("Bearer {}", super::fingerprint("sk-wrong-key-value"))
    );
}

#[tokio::test]
async fn requests_filtered_by_tag_and_cleared() {
    let server = start(json!({})).await;
    let mut body = chat("x", false);
    body["user"] = json!("tag one");
    post(server.addr, "/v1/chat/completions", body).await;
    post(
        server.addr,
        "/v1/chat/completions",
        chat("#sim {\"tag\": \"two\"}", false),
    )
    .await;

    let one = send(
        server.addr,
        "GET",
        "/_sim/requests?tag=tag+one",
        &[],
        Value::Null,
    )
    .await
    .json();
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["data"][0]["body"]["user"], "tag one");
    assert_eq!(one["data"][0]["path"], "/v1/chat/completions");
    assert_eq!(one["data"][0]["provider"], "openai");

    let cleared = send(server.addr, "DELETE", "/_sim/requests", &[], Value::Null).await;
    assert_eq!(cleared.status, 204);
    let none = send(server.addr, "GET", "/_sim/requests", &[], Value::Null)
        .await
        .json();
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn hang_recorded_then_disconnect_seen() {
    let server = start(json!({})).await;
    let addr = server.addr;
    let hanging = tokio::spawn(async move {
        post(
            addr,
            "/v1/chat/completions",
            chat("#sim {\"hang\": true, \"tag\": \"h\"}", false),
        )
        .await
    });
    let listing = send(
        addr,
        "GET",
        "/_sim/requests?tag=h&min=1&wait_ms=10000",
        &[],
        Value::Null,
    )
    .await
    .json();
    assert_eq!(listing["data"][0]["outcome"], "hung");
    hanging.abort();
    let _ = hanging.await;
    let mut outcome = Value::Null;
    for _ in 0..200 {
        let listing = send(addr, "GET", "/_sim/requests?tag=h", &[], Value::Null)
            .await
            .json();
        outcome = listing["data"][0]["outcome"].clone();
        if outcome == "disconnected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(outcome, "disconnected");
}

#[tokio::test]
async fn unknown_paths_get_provider_404s() {
    let server = start(json!({})).await;
    let openai = post(server.addr, "/v1/embeddings", json!({})).await;
    assert_eq!(openai.status, 404);
    assert_eq!(
        openai.json(),
        json!({"error": {"message": "Invalid URL (POST /v1/embeddings)", "type": "invalid_request_error", "param": null, "code": null}})
    );
    let anthropic = post(server.addr, "/anthropic/v1/complete", json!({})).await;
    assert_eq!(anthropic.json()["error"]["type"], "not_found_error");
    let gemini = post(server.addr, "/v1beta/models/m:countTokens", json!({})).await;
    assert_eq!(gemini.json()["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn models_listed() {
    let server = start(json!({})).await;
    let received = send(server.addr, "GET", "/v1/models", &[], Value::Null).await;
    assert_eq!(received.status, 200);
    let body = received.json();
    assert_eq!(body["object"], "list");
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "gpt-4o-mini"));
}

fn anthropic_body(text: &str, stream: bool) -> Value {
    json!({"model": "claude-test", "max_tokens": 256, "stream": stream,
        "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn anthropic_requires_version_header() {
    let server = start(json!({})).await;
    let received = post(server.addr, "/v1/messages", anthropic_body("hi", false)).await;
    assert_eq!(received.status, 400);
    let body = received.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        "anthropic-version: header is required"
    );
    assert!(received.header("request-id").starts_with("req_"));
}

#[tokio::test]
async fn anthropic_stream_over_the_wire() {
    let server = start(json!({})).await;
    let headers = [("anthropic-version", "2023-06-01"), ("x-api-key", "k")];
    let received = send(
        server.addr,
        "POST",
        "/v1/messages",
        &headers,
        anthropic_body("#sim {\"text\": \"x y\"}", true),
    )
    .await;
    assert_eq!(received.status, 200);
    assert_eq!(
        received.header("content-type"),
        "text/event-stream; charset=utf-8"
    );
    let events = received.events();
    assert_eq!(events.first().unwrap().event_type(), "message_start");
    assert_eq!(events.last().unwrap().event_type(), "message_stop");
    assert!(events.iter().all(|e| e.data != "[DONE]"));
}

#[tokio::test]
async fn anthropic_529_overloaded() {
    let server = start(json!({})).await;
    let headers = [("anthropic-version", "2023-06-01")];
    let received = send(
        server.addr,
        "POST",
        "/v1/messages",
        &headers,
        anthropic_body("#sim {\"status\": 529}", false),
    )
    .await;
    assert_eq!(received.status, 529);
    assert_eq!(received.json()["error"]["type"], "overloaded_error");
}

fn gemini_body(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

#[tokio::test]
async fn gemini_sse_and_json_array_streams() {
    let server = start(json!({})).await;
    let path = "/v1beta/models/gemini-test:streamGenerateContent";
    let sse = post(
        server.addr,
        &format!("{path}?alt=sse"),
        gemini_body("#sim {\"text\": \"p q\"}"),
    )
    .await;
    assert_eq!(sse.header("content-type"), "text/event-stream");
    let events = sse.events();
    assert_eq!(events.len(), 2);
    let last: Value = serde_json::from_str(&events[1].data).unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");

    let array = post(server.addr, path, gemini_body("#sim {\"text\": \"p q\"}")).await;
    assert_eq!(
        array.header("content-type"),
        "application/json; charset=UTF-8"
    );
    assert_eq!(array.json().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn gemini_error_shape_by_status() {
    let server = start(json!({})).await;
    let path = "/v1beta/models/gemini-test:generateContent";
    let received = post(server.addr, path, gemini_body("#sim {\"status\": 429}")).await;
    assert_eq!(received.status, 429);
    assert_eq!(
        received.json(),
        json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}})
    );
}

#[tokio::test]
async fn gemini_key_checked_in_query() {
    let server = start(json!({"api_keys": {"google": "g-key"}})).await;
    let path = "/v1beta/models/gemini-test:generateContent";
    let missing = post(server.addr, path, gemini_body("x")).await;
    assert_eq!(missing.status, 403);
    let ok = post(server.addr, &format!("{path}?key=g-key"), gemini_body("x")).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn responses_stream_has_no_done() {
    let server = start(json!({})).await;
    let body = json!({"model": "gpt-test", "input": "hello", "stream": true});
    let received = post(server.addr, "/v1/responses", body).await;
    let events = received.events();
    assert_eq!(events[0].event_type(), "response.created");
    assert_eq!(events.last().unwrap().event_type(), "response.completed");
    assert!(events.iter().all(|e| e.data != "[DONE]"));
}
