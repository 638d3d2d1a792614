//! Golden cases for the Anthropic and Gemini adapters.
//!
//! Each folder under `tests/golden/<provider>/` is one case:
//!
//! | file | meaning |
//! |---|---|
//! | `request.json` | the OpenAI chat request |
//! | `upstream_request.json` | the provider body the gateway must send (non-streamed form) |
//! | `request_error.json` | the error the request must get instead |
//! | `response.json`, `expected.json` | a provider answer and the `chat.completion` it becomes |
//! | `stream.sse`, `expected_stream.jsonl` | a provider stream and the chunks it becomes, one per line; an `{"error": …}` line is the error that ends it |
//! | `error_response.json`, `expected_error.json` | a non-2xx answer (`status`, `headers`, `body`) and the gateway error |
//!
//! Every stream is also fed in random pieces (seeded, so failures repeat) and one byte at a
//! time; the chunks must not change. When a case has both a stream and a full answer, the
//! message rebuilt from the stream must equal the full message. `GOLDEN_BLESS=1` rewrites the
//! expected files from the current output instead of comparing.

// The helpers below are test code too: a broken case file should stop the test where it is read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_core::error::GatewayError;
use rust_core::sse;
use rust_core::translate::{
    Adapter, CallContext, ChatRequest, Flow, StreamTranslator, ANTHROPIC, GEMINI,
};
use serde_json::{json, Map, Value};

const REQUEST_ID: &str = "req_golden";
const CREATED: u64 = 1_700_000_000;
const DEFAULT_MAX_TOKENS: u32 = 1024;
const RANDOM_SPLITS: u64 = 48;

struct Provider {
    name: &'static str,
    adapter: &'static dyn Adapter,
    base_url: &'static str,
}

const ANTHROPIC_CASES: Provider = Provider {
    name: "anthropic",
    adapter: &ANTHROPIC,
    base_url: "https://api.anthropic.com/v1",
};

const GEMINI_CASES: Provider = Provider {
    name: "gemini",
    adapter: &GEMINI,
    base_url: "https://generativelanguage.googleapis.com/v1beta",
};

fn bless() -> bool {
    std::env::var_os("GOLDEN_BLESS").is_some()
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap();
    fs::write(path, text + "\n").unwrap();
}

fn error_json(err: &GatewayError) -> Value {
    json!({
        "status": err.status(),
        "code": err.code,
        "param": err.param,
        "message": err.message,
        "retry_after": err.retry_after,
    })
}

/// Build the call context every case runs under; the stream flags follow the request.
fn context<'a>(
    provider: &Provider,
    request: &'a Map<String, Value>,
    stream: bool,
) -> CallContext<'a> {
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("model");
    let include_usage = request
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    CallContext {
        upstream_model: model,
        client_model: model,
        base_url: provider.base_url,
        api_key: "provider-key",
        default_max_tokens: DEFAULT_MAX_TOKENS,
        stream,
        include_usage: stream && include_usage,
        request_id: REQUEST_ID,
        created: CREATED,
    }
}

/// Run a stream through the parser and translator in the given pieces. Each output line is a
/// chunk document, or the error that ended the stream.
fn run_stream(adapter: &dyn Adapter, ctx: &CallContext<'_>, pieces: &[&[u8]]) -> Vec<Value> {
    let mut parser = sse::Parser::new();
    let mut translator: Box<dyn StreamTranslator> = adapter.stream_translator(ctx);
    let mut lines = Vec::new();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut events = Vec::new();
    let mut done = false;
    let collect = |chunks: &mut Vec<Bytes>, lines: &mut Vec<Value>| {
        for chunk in chunks.drain(..) {
            lines.push(serde_json::from_slice(&chunk).expect("chunk is JSON"));
        }
    };
    for piece in pieces {
        parser.feed(piece, &mut events);
        for event in events.drain(..) {
            if done {
                continue;
            }
            let result = translator.on_event(&event, &mut chunks);
            collect(&mut chunks, &mut lines);
            match result {
                Ok(Flow::Continue) => {}
                Ok(Flow::Done) => done = true,
                Err(err) => {
                    lines.push(json!({"error": error_json(&err)}));
                    return lines;
                }
            }
        }
    }
    parser.finish();
    let result = translator.on_end(&mut chunks);
    collect(&mut chunks, &mut lines);
    if let Err(err) = result {
        lines.push(json!({"error": error_json(&err)}));
    }
    lines
}

/// Cut `bytes` at random points.
fn random_pieces(bytes: &[u8], rng: &mut StdRng) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let len = rng.gen_range(1..=12.min(bytes.len() - start).max(1));
        let len = if rng.gen_bool(0.1) {
            bytes.len() - start
        } else {
            len
        };
        pieces.push(bytes[start..start + len].to_vec());
        start += len;
    }
    pieces
}

/// Checks every well-formed stream must pass, whatever the case.
fn check_stream_shape(lines: &[Value], include_usage: bool) -> Result<(), String> {
    let chunks: Vec<&Value> = lines.iter().filter(|l| l.get("error").is_none()).collect();
    let Some(first) = chunks.first() else {
        return Ok(());
    };
    let mut seen_calls: Vec<(u64, u64)> = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        if chunk["id"] != first["id"] || chunk["created"] != first["created"] {
            return Err(format!("chunk {i} changes id or created"));
        }
        if chunk["object"] != "chat.completion.chunk" {
            return Err(format!("chunk {i} has object {}", chunk["object"]));
        }
        if chunk.get("usage").is_some() != include_usage {
            return Err(format!(
                "chunk {i}: usage key present is {}",
                !include_usage
            ));
        }
        let is_usage_chunk = chunk["choices"].as_array().is_some_and(Vec::is_empty);
        if is_usage_chunk && i + 1 != chunks.len() {
            return Err(format!("usage chunk {i} is not last"));
        }
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            for call in choice["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let key = (
                    choice["index"].as_u64().unwrap_or(0),
                    call["index"].as_u64().unwrap_or(0),
                );
                let first_fragment = !seen_calls.contains(&key);
                if first_fragment
                    != (call.get("id").is_some() && call["function"].get("name").is_some())
                {
                    return Err(format!(
                        "chunk {i}: id and name must come on the first fragment only"
                    ));
                }
                seen_calls.push(key);
            }
        }
    }
    Ok(())
}

/// Rebuild the messages a client would assemble from the chunks, one per choice index.
fn rebuild(lines: &[Value]) -> Vec<Value> {
    let mut choices: Vec<Value> = Vec::new();
    for line in lines {
        for choice in line["choices"].as_array().into_iter().flatten() {
            let index = choice["index"].as_u64().unwrap() as usize;
            while choices.len() <= index {
                choices.push(json!({"content": "", "reasoning_content": "", "tool_calls": [], "thinking_blocks": []}));
            }
            let target = &mut choices[index];
            let delta = &choice["delta"];
            for key in ["content", "reasoning_content"] {
                if let Some(text) = delta[key].as_str() {
                    let joined = format!("{}{text}", target[key].as_str().unwrap());
                    target[key] = joined.into();
                }
            }
            for block in delta["thinking_blocks"].as_array().into_iter().flatten() {
                target["thinking_blocks"]
                    .as_array_mut()
                    .unwrap()
                    .push(block.clone());
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let calls = target["tool_calls"].as_array_mut().unwrap();
                let at = call["index"].as_u64().unwrap() as usize;
                if at == calls.len() {
                    let mut fresh = call.clone();
                    fresh.as_object_mut().unwrap().remove("index");
                    calls.push(fresh);
                } else {
                    let args = format!(
                        "{}{}",
                        calls[at]["function"]["arguments"].as_str().unwrap(),
                        call["function"]["arguments"].as_str().unwrap()
                    );
                    calls[at]["function"]["arguments"] = args.into();
                }
            }
            if !choice["finish_reason"].is_null() {
                target["finish_reason"] = choice["finish_reason"].clone();
            }
        }
    }
    choices.into_iter().map(|c| normalize(&c)).collect()
}

/// Put a message in the form that rebuilt and full messages are compared in: empty content and
/// reasoning read as absent, and tool arguments as parsed JSON.
fn normalize(message: &Value) -> Value {
    let text = |key: &str| {
        message[key]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let calls: Vec<Value> = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|call| {
            let mut call = call.clone();
            let args = call["function"]["arguments"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            call["function"]["arguments"] =
                serde_json::from_str(&args).unwrap_or(Value::String(args));
            call
        })
        .collect();
    json!({
        "content": text("content"),
        "reasoning_content": text("reasoning_content"),
        "tool_calls": calls,
        "thinking_blocks": message.get("thinking_blocks").cloned().unwrap_or(json!([])),
        "finish_reason": message.get("finish_reason").cloned().unwrap_or(Value::Null),
    })
}

/// Compare `actual` to the expected file, or write it when blessing.
fn expect_json(path: &Path, actual: &Value, failures: &mut Vec<String>) {
    if bless() {
        write_json(path, actual);
    } else if &read_json(path) != actual {
        failures.push(format!(
            "{}: got\n{}",
            path.display(),
            serde_json::to_string_pretty(actual).unwrap()
        ));
    }
}

fn expect_lines(path: &Path, actual: &[Value], failures: &mut Vec<String>) {
    let text: String = actual.iter().map(|line| format!("{line}\n")).collect();
    if bless() {
        fs::write(path, text).unwrap();
        return;
    }
    let expected: Vec<Value> = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();
    if expected != actual {
        failures.push(format!("{}: got\n{text}", path.display()));
    }
}

fn run_case(provider: &Provider, dir: &Path, failures: &mut Vec<String>) {
    let raw = fs::read(dir.join("request.json")).unwrap();
    let json: Map<String, Value> = serde_json::from_slice(&raw).unwrap();
    let request = ChatRequest {
        raw: Bytes::from(raw),
        json,
    };
    let plain = context(provider, &request.json, false);
    let streamed = context(provider, &request.json, true);
    let adapter = provider.adapter;

    let built = adapter.build_request(&request, &plain);
    if dir.join("request_error.json").exists() || built.is_err() {
        let actual = match built {
            Ok(upstream) => json!({"unexpected_success": String::from_utf8_lossy(&upstream.body)}),
            Err(err) => error_json(&err),
        };
        expect_json(&dir.join("request_error.json"), &actual, failures);
        return;
    }
    let built = built.unwrap();
    let plain_url = if provider.name == "anthropic" {
        format!("{}/messages", provider.base_url)
    } else {
        format!(
            "{}/models/{}:generateContent",
            provider.base_url, plain.upstream_model
        )
    };
    if built.url != plain_url {
        failures.push(format!("{}: request sent to {}", dir.display(), built.url));
    }
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    if dir.join("upstream_request.json").exists() {
        expect_json(&dir.join("upstream_request.json"), &body, failures);
    }
    check_stream_request(provider, &request, &streamed, &body, failures);

    let mut full_message = None;
    if dir.join("response.json").exists() {
        let upstream = fs::read(dir.join("response.json")).unwrap();
        let actual = match adapter.parse_response(&upstream, &plain) {
            Ok(completion) => serde_json::from_slice(&completion.body).unwrap(),
            Err(err) => json!({"error": error_json(&err)}),
        };
        if let Some(choices) = actual["choices"].as_array() {
            full_message = Some(
                choices
                    .iter()
                    .map(|c| {
                        let mut message = c["message"].clone();
                        message["finish_reason"] = c["finish_reason"].clone();
                        normalize(&message)
                    })
                    .collect::<Vec<_>>(),
            );
        }
        expect_json(&dir.join("expected.json"), &actual, failures);
    }

    if dir.join("stream.sse").exists() {
        let upstream = fs::read(dir.join("stream.sse")).unwrap();
        let whole = run_stream(adapter, &streamed, &[&upstream]);
        expect_lines(&dir.join("expected_stream.jsonl"), &whole, failures);
        if let Err(problem) = check_stream_shape(&whole, streamed.include_usage) {
            failures.push(format!("{}: {problem}", dir.display()));
        }
        check_rechunking(adapter, &streamed, &upstream, &whole, dir, failures);
        let ended_in_error = whole.last().is_some_and(|l| l.get("error").is_some());
        if let (Some(full), false) = (full_message, ended_in_error) {
            let rebuilt = rebuild(&whole);
            if rebuilt != full {
                failures.push(format!(
                    "{}: stream rebuilds {rebuilt:?}, full answer is {full:?}",
                    dir.display()
                ));
            }
        }
    }

    if dir.join("error_response.json").exists() {
        let spec = read_json(&dir.join("error_response.json"));
        let mut headers = http::HeaderMap::new();
        for (name, value) in spec["headers"].as_object().into_iter().flatten() {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
            );
        }
        let body = match &spec["body"] {
            Value::String(text) => text.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let status = spec["status"].as_u64().unwrap() as u16;
        let err = adapter.parse_error(status, &headers, &body);
        expect_json(
            &dir.join("expected_error.json"),
            &error_json(&err),
            failures,
        );
    }
}

/// Check that the streamed request differs from the plain one only in the stream flag and URL.
fn check_stream_request(
    provider: &Provider,
    request: &ChatRequest,
    ctx: &CallContext<'_>,
    plain_body: &Value,
    failures: &mut Vec<String>,
) {
    let built = provider.adapter.build_request(request, ctx).unwrap();
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    let mut expected = plain_body.clone();
    let model = ctx.upstream_model;
    let expected_url = if provider.name == "anthropic" {
        expected["stream"] = true.into();
        format!("{}/messages", provider.base_url)
    } else {
        format!(
            "{}/models/{model}:streamGenerateContent?alt=sse",
            provider.base_url
        )
    };
    if body != expected || built.url != expected_url {
        failures.push(format!("{model}: streamed request is {} {body}", built.url));
    }
}

fn check_rechunking(
    adapter: &dyn Adapter,
    ctx: &CallContext<'_>,
    upstream: &[u8],
    whole: &[Value],
    dir: &Path,
    failures: &mut Vec<String>,
) {
    let bytes: Vec<&[u8]> = upstream.chunks(1).collect();
    if run_stream(adapter, ctx, &bytes) != whole {
        failures.push(format!(
            "{}: output changes when fed one byte at a time",
            dir.display()
        ));
    }
    let seed = dir
        .to_string_lossy()
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    for round in 0..RANDOM_SPLITS {
        let mut rng = StdRng::seed_from_u64(seed ^ round);
        let pieces = random_pieces(upstream, &mut rng);
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        if run_stream(adapter, ctx, &refs) != whole {
            failures.push(format!(
                "{}: output changes under random split round {round}",
                dir.display()
            ));
            return;
        }
    }
}

fn case_dirs(provider: &Provider) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(provider.name);
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("request.json").exists())
        .collect();
    dirs.sort();
    dirs
}

fn run_provider(provider: &Provider) {
    let mut failures = Vec::new();
    for dir in case_dirs(provider) {
        run_case(provider, &dir, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn anthropic_golden_cases() {
    run_provider(&ANTHROPIC_CASES);
}

#[test]
fn gemini_golden_cases() {
    run_provider(&GEMINI_CASES);
}

#[test]
fn corpus_covers_both_providers() {
    let anthropic = case_dirs(&ANTHROPIC_CASES).len();
    let gemini = case_dirs(&GEMINI_CASES).len();
    assert!(anthropic >= 25, "{anthropic} Anthropic cases");
    assert!(gemini >= 25, "{gemini} Gemini cases");
    assert!(anthropic + gemini >= 60, "{} cases", anthropic + gemini);
}

fn anthropic_event(data: Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

fn stream_request(include_usage: bool) -> Map<String, Value> {
    let request = json!({
        "model": "claude-sonnet-4-5",
        "stream": true,
        "stream_options": {"include_usage": include_usage},
        "messages": [{"role": "user", "content": "Hi"}],
    });
    request.as_object().unwrap().clone()
}

fn message_start(usage: Value) -> String {
    anthropic_event(json!({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "stop_reason": null, "usage": usage}}))
}

fn message_end(stop_reason: &str, output_tokens: u64) -> String {
    anthropic_event(
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason},
        "usage": {"output_tokens": output_tokens}}),
    ) + &anthropic_event(json!({"type": "message_stop"}))
}

#[test]
fn anthropic_parallel_tools_after_text_indexed() {
    let mut wire = message_start(json!({"input_tokens": 30, "output_tokens": 1}));
    for event in [
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_B", "name": "get_time", "input": {}}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"zone\": \"CET\", "}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"24h\": true}"}}),
        json!({"type": "content_block_stop", "index": 2}),
    ] {
        wire += &anthropic_event(event);
    }
    wire += &message_end("tool_use", 40);
    let request = stream_request(false);
    let ctx = context(&ANTHROPIC_CASES, &request, true);
    let lines = run_stream(&ANTHROPIC, &ctx, &[wire.as_bytes()]);

    let fragments: Vec<&Value> = lines
        .iter()
        .flat_map(|line| line["choices"].as_array().unwrap())
        .flat_map(|choice| {
            choice["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .collect();
    let mut indexes: Vec<u64> = fragments
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    indexes.dedup();
    assert_eq!(indexes, vec![0, 1]);
    for (index, id, name) in [(0, "toolu_A", "get_weather"), (1, "toolu_B", "get_time")] {
        let of_call: Vec<&&Value> = fragments.iter().filter(|f| f["index"] == index).collect();
        let ids: Vec<&Value> = of_call.iter().filter_map(|f| f.get("id")).collect();
        let names: Vec<&Value> = of_call
            .iter()
            .filter_map(|f| f["function"].get("name"))
            .collect();
        assert_eq!(ids, vec![id]);
        assert_eq!(names, vec![name]);
    }
    let arguments = |index: u64| -> Value {
        let text: String = fragments
            .iter()
            .filter(|f| f["index"] == index)
            .map(|f| f["function"]["arguments"].as_str().unwrap())
            .collect();
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(arguments(0), json!({"city": "Oslo"}));
    assert_eq!(arguments(1), json!({"zone": "CET", "24h": true}));
    let finish = &lines[lines.len() - 1]["choices"][0]["finish_reason"];
    assert_eq!(finish, "tool_calls");
}

#[test]
fn anthropic_usage_counts_cache_reads() {
    let mut wire = message_start(
        json!({"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 1}),
    );
    wire += &anthropic_event(
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    wire += &anthropic_event(
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    );
    wire += &anthropic_event(json!({"type": "content_block_stop", "index": 0}));
    wire += &message_end("end_turn", 57);
    let request = stream_request(true);
    let ctx = context(&ANTHROPIC_CASES, &request, true);
    let lines = run_stream(&ANTHROPIC, &ctx, &[wire.as_bytes()]);

    let last = lines.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["prompt_tokens"], 112);
    assert_eq!(last["usage"]["completion_tokens"], 57);
    assert_eq!(last["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
}

#[test]
fn anthropic_split_emoji_arrives_whole() {
    let text = "ok 🦀 done";
    let mut wire = message_start(json!({"input_tokens": 3, "output_tokens": 1}));
    wire += &anthropic_event(
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    wire += &anthropic_event(
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
    );
    wire += &anthropic_event(json!({"type": "content_block_stop", "index": 0}));
    wire += &message_end("end_turn", 4);
    let bytes = wire.as_bytes();
    let emoji_at = wire.find('🦀').unwrap();
    let request = stream_request(false);
    let ctx = context(&ANTHROPIC_CASES, &request, true);

    // Cut inside each of the emoji's four bytes, as two network reads would.
    for cut in emoji_at + 1..emoji_at + 4 {
        let lines = run_stream(&ANTHROPIC, &ctx, &[&bytes[..cut], &bytes[cut..]]);
        let content: String = lines
            .iter()
            .filter_map(|line| line["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(content, text, "cut at byte {cut}");
        assert!(!content.contains('\u{FFFD}'));
    }
}

#[test]
fn gemini_max_tokens_is_length() {
    let chunk = |body: Value| format!("data: {body}\r\n\r\n");
    let wire = chunk(
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Once"}]}, "index": 0}]}),
    ) + &chunk(
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": " upon"}]}, "index": 0,
            "finishReason": "MAX_TOKENS"}], "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}}),
    );
    let request = json!({"model": "gemini-2.5-flash", "stream": true, "max_tokens": 2,
        "messages": [{"role": "user", "content": "Story"}]});
    let request = request.as_object().unwrap().clone();
    let ctx = context(&GEMINI_CASES, &request, true);
    let lines = run_stream(&GEMINI, &ctx, &[wire.as_bytes()]);

    let finishes: Vec<&Value> = lines
        .iter()
        .map(|line| &line["choices"][0]["finish_reason"])
        .filter(|reason| !reason.is_null())
        .collect();
    assert_eq!(finishes, vec!["length"]);
}

#[test]
fn anthropic_system_prompt_joins_in_order() {
    let body = json!({"model": "claude-sonnet-4-5", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Use metric units."},
        {"role": "developer", "content": "Cite sources."},
        {"role": "user", "content": "Distance to the moon?"}
    ]});
    let request = ChatRequest {
        raw: Bytes::from(body.to_string()),
        json: body.as_object().unwrap().clone(),
    };
    let ctx = context(&ANTHROPIC_CASES, &request.json, false);
    let upstream = ANTHROPIC.build_request(&request, &ctx).unwrap();
    let sent: Value = serde_json::from_slice(&upstream.body).unwrap();

    assert_eq!(
        sent["system"],
        "Be brief.\n\nUse metric units.\n\nCite sources."
    );
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1);
    assert_eq!(sent["messages"][0]["role"], "user");
    assert_eq!(upstream.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(upstream.headers["anthropic-version"], "2023-06-01");
    assert_eq!(upstream.headers["x-api-key"], "provider-key");
}
