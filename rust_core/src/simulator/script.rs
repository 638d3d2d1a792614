//! The per-request directive and the reply it scripts.
//!
//! A request steers the simulator with a line `#sim {json}` in the text of its
//! last client turn: the messages after the model's last message, such as the
//! user's message or the tool results that answer the model's tool calls.
//! Everything after `#sim` up to the end of that message's text is read as
//! one JSON object, and the newest message with a directive wins. Without a
//! directive the reply is a fixed sentence that carries a digest of the turn,
//! so identical requests get identical content, usage and tool calls (ids and
//! timestamps still differ).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::split::Split;

/// The marker that starts a directive.
pub const MARKER: &str = "#sim";

/// Longest text piece, in characters; longer words are cut.
const MAX_PIECE_CHARS: usize = 16;
/// Characters of tool-call arguments per streamed fragment.
const ARGUMENT_PIECE_CHARS: usize = 8;

/// The JSON object after `#sim`. Unknown fields are rejected so that a typo fails loudly.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directive {
    pub text: Option<String>,
    pub reasoning: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCallSpec>,
    #[serde(default)]
    pub usage: UsageSpec,
    pub finish: Option<String>,
    pub status: Option<u16>,
    #[serde(default)]
    pub error: ErrorSpec,
    /// Seconds sent as `retry-after` with an error status.
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub cut_after: Option<u64>,
    pub malformed_after: Option<u64>,
    pub error_after: Option<u64>,
    pub hang: Option<HangSpec>,
    pub latency_ms: Option<u64>,
    pub ttft_ms: Option<u64>,
    pub tokens_per_second: Option<f64>,
    pub split: Option<String>,
    pub eol: Option<String>,
    pub seed: Option<u64>,
    pub tag: Option<String>,
    /// The directive of the next client turn when that turn brings none of its own, such as
    /// the reply to the tool results that answer this reply's tool calls.
    pub then: Option<Box<Directive>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCallSpec {
    pub name: String,
    /// A JSON object (sent as its exact text) or a string (sent as is, even if not JSON).
    pub arguments: Option<Box<RawValue>>,
    pub id: Option<String>,
}

/// Overrides of the computed token counts, in OpenAI's terms.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSpec {
    /// Every prompt token, cached or not.
    pub prompt: Option<u64>,
    /// Every output token, reasoning included.
    pub completion: Option<u64>,
    #[serde(alias = "cache_read")]
    pub cached: Option<u64>,
    pub cache_write: Option<u64>,
    pub reasoning: Option<u64>,
}

/// Fields of an error response. Each provider uses the ones its format has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<String>,
    pub param: Option<String>,
    /// Gemini's status string, such as `RESOURCE_EXHAUSTED`.
    pub status: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum HangSpec {
    /// `true` never sends a response at all.
    Flag(bool),
    /// Send the headers and this many events, then stall.
    After(u64),
}

/// Find and parse the directive of a client turn, searching its newest message first;
/// `Ok(None)` when there is none.
pub fn turn_directive(turn: &[String]) -> Result<Option<Directive>, String> {
    for text in turn.iter().rev() {
        if let Some(directive) = parse_directive(text)? {
            return Ok(Some(directive));
        }
    }
    Ok(None)
}

/// Find the directive that scripts the reply to `prompt`: the last client turn's own, else
/// the `then` of the directive that applied to the client turn before it, and so on back.
/// Invalid directives of earlier turns count as none; they were reported when they were new.
pub fn prompt_directive(prompt: &Prompt) -> Result<Option<Directive>, String> {
    if let Some(directive) = turn_directive(&prompt.turn)? {
        return Ok(Some(directive));
    }
    let next = |applied: Option<Directive>| applied.and_then(|d| d.then.map(|then| *then));
    let mut applied: Option<Directive> = None;
    for turn in &prompt.earlier {
        applied = match turn_directive(turn) {
            Ok(Some(own)) => Some(own),
            _ => next(applied),
        };
    }
    Ok(next(applied))
}

/// Find and parse the directive in `text`; `Ok(None)` when there is none.
pub fn parse_directive(text: &str) -> Result<Option<Directive>, String> {
    let Some(start) = find_marker(text) else {
        return Ok(None);
    };
    let rest = &text[start + MARKER.len()..];
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Directive>();
    match values.next() {
        Some(Ok(directive)) => Ok(Some(directive)),
        Some(Err(err)) => Err(format!("invalid {MARKER} directive: {err}")),
        None => Err(format!(
            "invalid {MARKER} directive: expected a JSON object"
        )),
    }
}

/// Find the byte offset of a `#sim` that starts a line and is followed by whitespace.
fn find_marker(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(after) = trimmed.strip_prefix(MARKER) {
            if after.starts_with(char::is_whitespace) {
                return Some(offset + indent);
            }
        }
        offset += line.len();
    }
    None
}

/// Token counts of one reply in OpenAI's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Every prompt token, cached ones included.
    pub prompt: u64,
    /// Every output token, reasoning included.
    pub completion: u64,
    pub cached: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }

    /// Prompt tokens neither read from nor written to the cache (Anthropic's `input_tokens`).
    pub fn uncached_prompt(&self) -> u64 {
        self.prompt.saturating_sub(self.cached + self.cache_write)
    }

    /// Output tokens that are not reasoning (Gemini's `candidatesTokenCount`).
    pub fn visible_completion(&self) -> u64 {
        self.completion.saturating_sub(self.reasoning)
    }
}

/// Why generation stopped, before each provider names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    Stop,
    /// The output limit of the request was reached.
    Length,
    ToolCalls,
    /// A provider-native value from the directive, sent verbatim.
    Native(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// The id from the directive; each format mints its own when absent.
    pub id: Option<String>,
    pub name: String,
    /// The arguments as a JSON text (possibly invalid when the directive gave such a string).
    pub arguments: String,
    pub pieces: Vec<String>,
}

impl ToolCall {
    /// Return the arguments as a JSON object, or `{}` when they are not one.
    pub fn arguments_object(&self) -> &str {
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&self.arguments) {
            Ok(_) => &self.arguments,
            Err(_) => "{}",
        }
    }
}

/// Everything a format needs to render one response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub text: Vec<String>,
    pub reasoning: Vec<String>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub finish: Finish,
    /// The fields of an in-stream error event.
    pub error: ErrorSpec,
}

impl Reply {
    pub fn text(&self) -> String {
        self.text.concat()
    }

    pub fn reasoning(&self) -> String {
        self.reasoning.concat()
    }
}

/// What a format reads from a request before the reply is built.
#[derive(Clone, Debug, Default)]
pub struct Prompt {
    /// The text of each message of the last client turn, oldest first.
    pub turn: Vec<String>,
    /// The client turns before it, oldest first, each with only the texts that hold a `#sim`.
    pub earlier: Vec<Vec<String>>,
    pub prompt_tokens: u64,
    /// The request's output limit, if any.
    pub max_tokens: Option<u64>,
}

/// Build the reply to a request from its prompt and directive.
pub fn build_reply(prompt: &Prompt, directive: &Directive) -> Reply {
    let digest = digest(&prompt.turn.join("\n"));
    let text = match &directive.text {
        Some(text) => text.clone(),
        None if directive.tool_calls.is_empty() => default_text(&digest),
        None => String::new(),
    };
    let mut text = split_text(&text);
    let mut reasoning = directive
        .reasoning
        .as_deref()
        .map(split_text)
        .unwrap_or_default();
    let mut tool_calls: Vec<ToolCall> = directive.tool_calls.iter().map(tool_call).collect();

    let mut finish = if tool_calls.is_empty() {
        Finish::Stop
    } else {
        Finish::ToolCalls
    };
    let wanted = reasoning.len() + text.len() + argument_pieces(&tool_calls);
    if let Some(limit) = prompt.max_tokens.map(|m| m as usize) {
        if wanted > limit {
            reasoning.truncate(limit);
            text.truncate(limit - reasoning.len());
            tool_calls.clear();
            finish = Finish::Length;
        }
    }
    if let Some(native) = &directive.finish {
        finish = Finish::Native(native.clone());
    }

    let spec = &directive.usage;
    let usage = Usage {
        prompt: spec.prompt.unwrap_or(prompt.prompt_tokens),
        completion: spec
            .completion
            .unwrap_or((reasoning.len() + text.len() + argument_pieces(&tool_calls)) as u64),
        cached: spec.cached.unwrap_or(0),
        cache_write: spec.cache_write.unwrap_or(0),
        reasoning: spec.reasoning.unwrap_or(reasoning.len() as u64),
    };
    Reply {
        text,
        reasoning,
        tool_calls,
        usage,
        finish,
        error: directive.error.clone(),
    }
}

fn argument_pieces(calls: &[ToolCall]) -> usize {
    calls.iter().map(|call| call.pieces.len()).sum()
}

fn tool_call(spec: &ToolCallSpec) -> ToolCall {
    let arguments = match &spec.arguments {
        None => "{}".to_owned(),
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(text) => text,
            Err(_) => raw.get().to_owned(),
        },
    };
    let pieces = chunk_chars(&arguments, ARGUMENT_PIECE_CHARS);
    ToolCall {
        id: spec.id.clone(),
        name: spec.name.clone(),
        arguments,
        pieces,
    }
}

/// Hash `text` to the first 8 hex digits of its SHA-256.
pub fn digest(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..4])
}

/// Build the reply used when the directive gives no text: a fixed sentence with the digest.
pub fn default_text(digest: &str) -> String {
    format!("Simulated reply {digest}: the quick brown fox jumps over the lazy dog.")
}

/// Cut `text` into pieces: each word with the whitespace before it, and words longer than
/// 16 characters cut every 16 characters. Whitespace at the end joins the last word. The
/// pieces concatenate to `text`.
pub fn split_text(text: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut chars_in_word = 0;
    let mut previous_was_space = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        let gap_starts = space && !previous_was_space;
        let word_too_long = !space && chars_in_word == MAX_PIECE_CHARS;
        if !current.is_empty() && (gap_starts || word_too_long) {
            pieces.push(std::mem::take(&mut current));
            chars_in_word = 0;
        }
        current.push(c);
        if !space {
            chars_in_word += 1;
        }
        previous_was_space = space;
    }
    match pieces.last_mut() {
        Some(last) if current.chars().all(char::is_whitespace) => last.push_str(&current),
        _ if !current.is_empty() => pieces.push(current),
        _ => {}
    }
    pieces
}

/// Cut `text` every `size` characters.
fn chunk_chars(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size)
        .map(|chunk| chunk.iter().collect())
        .collect()
}

/// Where a fault or stall happens, counted in events (or in bytes of a non-streamed body).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Close the connection after this many events.
    pub cut_after: Option<u64>,
    /// Send a data line that is not JSON after this many events, then go on.
    pub malformed_after: Option<u64>,
    /// Send the provider's in-stream error event after this many events, then end.
    pub error_after: Option<u64>,
    /// Stall after this many events until the client goes away.
    pub hang_after: Option<u64>,
}

/// Line ends of the SSE framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eol {
    Lf,
    CrLf,
    Cr,
}

impl Eol {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "lf" => Ok(Eol::Lf),
            "crlf" => Ok(Eol::CrLf),
            "cr" => Ok(Eol::Cr),
            other => Err(format!("eol: expected lf, crlf or cr, got {other:?}")),
        }
    }

    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Eol::Lf => b"\n",
            Eol::CrLf => b"\r\n",
            Eol::Cr => b"\r",
        }
    }
}

/// Timing, splitting and faults of one response, from the directive over the server's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub latency: Duration,
    pub ttft: Duration,
    /// Time between two tokens after the first; zero sends them at once.
    pub per_token: Duration,
    pub split: Split,
    /// The line ends; `None` lets the format choose its provider's.
    pub eol: Option<Eol>,
    pub seed: u64,
    pub faults: Faults,
    /// Never send a response.
    pub hang_before: bool,
}

/// Server-wide defaults that a directive may override.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    pub latency_ms: u64,
    pub ttft_ms: u64,
    pub tokens_per_second: f64,
    pub split: Split,
}

/// Combine `directive` with the server's `defaults`. `body_digest` seeds the adversarial
/// splitter unless the directive gives a seed.
pub fn delivery(
    directive: &Directive,
    defaults: &Defaults,
    body_digest: u64,
) -> Result<Delivery, String> {
    let tokens_per_second = directive
        .tokens_per_second
        .unwrap_or(defaults.tokens_per_second);
    if !tokens_per_second.is_finite() || tokens_per_second < 0.0 {
        return Err(format!(
            "tokens_per_second: expected a number >= 0, got {tokens_per_second}"
        ));
    }
    let per_token = if tokens_per_second > 0.0 {
        Duration::from_secs_f64(1.0 / tokens_per_second)
    } else {
        Duration::ZERO
    };
    let split = match &directive.split {
        Some(text) => Split::parse(text).map_err(|err| format!("split: {err}"))?,
        None => defaults.split,
    };
    let eol = directive.eol.as_deref().map(Eol::parse).transpose()?;
    let (hang_before, hang_after) = match directive.hang {
        Some(HangSpec::Flag(true)) => (true, None),
        Some(HangSpec::Flag(false)) | None => (false, None),
        Some(HangSpec::After(n)) => (false, Some(n)),
    };
    Ok(Delivery {
        latency: Duration::from_millis(directive.latency_ms.unwrap_or(defaults.latency_ms)),
        ttft: Duration::from_millis(directive.ttft_ms.unwrap_or(defaults.ttft_ms)),
        per_token,
        split,
        eol,
        seed: directive.seed.unwrap_or(body_digest),
        faults: Faults {
            cut_after: directive.cut_after,
            malformed_after: directive.malformed_after,
            error_after: directive.error_after,
            hang_after,
        },
        hang_before,
    })
}

/// Who wrote a message of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// The user or the client's tools.
    Client,
    Model,
    /// A system or developer message, which belongs to no turn.
    System,
}

/// The client turns of a conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Turns {
    /// The text of each message of the last client turn, oldest first.
    pub last: Vec<String>,
    /// The client turns before it, oldest first, each with only the texts that hold a `#sim`.
    pub earlier: Vec<Vec<String>>,
}

/// Split a conversation into client turns: runs of client messages between model messages.
/// The reply is to the last one. Model messages at the very end (a prefill) are
/// skipped, so the turn before them counts.
pub fn client_turns<'a>(
    messages: impl Iterator<Item = &'a serde_json::Value>,
    speaker: impl Fn(&serde_json::Value) -> Speaker,
) -> Turns {
    let mut done: Vec<Vec<String>> = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for message in messages {
        match speaker(message) {
            Speaker::System => {}
            Speaker::Client => current
                .get_or_insert_with(Vec::new)
                .push(message_text(message)),
            Speaker::Model => done.extend(current.take()),
        }
    }
    let last = current.or_else(|| done.pop()).unwrap_or_default();
    for turn in &mut done {
        turn.retain(|text| text.contains(MARKER));
    }
    Turns {
        last,
        earlier: done,
    }
}

/// Join the string leaves of a message with line breaks, in sorted key order, except the
/// values of `role` and `type` keys.
pub fn message_text(message: &serde_json::Value) -> String {
    let mut strings = Vec::new();
    collect_strings(message, &mut strings);
    strings.join("\n")
}

fn collect_strings<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(text) => out.push(text),
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        serde_json::Value::Object(fields) => fields
            .iter()
            .filter(|(key, _)| key.as_str() != "role" && key.as_str() != "type")
            .for_each(|(_, value)| collect_strings(value, out)),
        _ => {}
    }
}

/// Count the bytes of the string leaves of `value`, except the values of `role` and `type` keys.
pub fn text_bytes(value: &serde_json::Value) -> u64 {
    match value {
        serde_json::Value::String(text) => text.len() as u64,
        serde_json::Value::Array(items) => items.iter().map(text_bytes).sum(),
        serde_json::Value::Object(fields) => fields
            .iter()
            .filter(|(key, _)| key.as_str() != "role" && key.as_str() != "type")
            .map(|(_, value)| text_bytes(value))
            .sum(),
        _ => 0,
    }
}

/// Count the prompt tokens of one message: 3 plus a quarter of its text bytes, rounded up.
pub fn message_tokens(message: &serde_json::Value) -> u64 {
    3 + text_bytes(message).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prompt(text: &str) -> Prompt {
        Prompt {
            turn: vec![text.to_owned()],
            prompt_tokens: 10,
            ..Prompt::default()
        }
    }

    fn directive(json: &str) -> Directive {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn directive_found_on_its_own_line() {
        let parsed = parse_directive("Hello\n  #sim {\"text\": \"hi\"}\nignored")
            .unwrap()
            .unwrap();
        assert_eq!(parsed.text.as_deref(), Some("hi"));
    }

    #[test]
    fn directive_may_span_lines() {
        let parsed = parse_directive("#sim {\n \"text\": \"a\",\n \"tag\": \"t\"\n}")
            .unwrap()
            .unwrap();
        assert_eq!(parsed.tag.as_deref(), Some("t"));
    }

    #[test]
    fn marker_inside_a_line_is_plain_text() {
        assert!(parse_directive("say #sim {\"text\": 1}").unwrap().is_none());
        assert!(parse_directive("#simulate this").unwrap().is_none());
    }

    #[test]
    fn bad_directive_reported() {
        let err = parse_directive("#sim {\"txt\": \"x\"}").unwrap_err();
        assert!(err.contains("unknown field `txt`"), "{err}");
        assert!(parse_directive("#sim nope").is_err());
    }

    #[test]
    fn default_reply_depends_only_on_the_message() {
        let a = build_reply(&prompt("What is 2+2?"), &Directive::default());
        let b = build_reply(&prompt("What is 2+2?"), &Directive::default());
        let c = build_reply(&prompt("What is 3+3?"), &Directive::default());
        assert_eq!(a, b);
        assert_ne!(a.text(), c.text());
        assert_eq!(a.text(), default_text(&digest("What is 2+2?")));
        assert_eq!(a.text.len(), 12);
        assert_eq!(a.usage.completion, 12);
        assert_eq!(a.usage.prompt, 10);
        assert_eq!(a.finish, Finish::Stop);
    }

    #[test]
    fn pieces_are_words_with_leading_space() {
        assert_eq!(split_text("Hi there,  you"), vec!["Hi", " there,", "  you"]);
        assert_eq!(split_text(" lead"), vec![" lead"]);
        assert_eq!(split_text("   "), vec!["   "]);
        assert_eq!(split_text("trail "), vec!["trail "]);
        let long = "a".repeat(40);
        assert_eq!(split_text(&long).len(), 3);
        assert_eq!(split_text("").len(), 0);
        assert_eq!(split_text("héllo wörld").concat(), "héllo wörld");
    }

    #[test]
    fn tool_calls_replace_default_text() {
        let d = directive(
            r#"{"tool_calls": [{"name": "f", "arguments": {"city": "Paris"}}, {"name": "g", "arguments": "not json"}]}"#,
        );
        let reply = build_reply(&prompt("x"), &d);
        assert!(reply.text.is_empty());
        assert_eq!(reply.finish, Finish::ToolCalls);
        assert_eq!(reply.tool_calls[0].arguments, r#"{"city": "Paris"}"#);
        assert_eq!(
            reply.tool_calls[0].arguments_object(),
            r#"{"city": "Paris"}"#
        );
        assert_eq!(reply.tool_calls[1].arguments, "not json");
        assert_eq!(reply.tool_calls[1].arguments_object(), "{}");
        // 17 and 8 characters: 3 + 1 pieces.
        assert_eq!(reply.usage.completion, 4);
    }

    #[test]
    fn max_tokens_truncates_and_finishes_with_length() {
        let mut p = prompt("x");
        p.max_tokens = Some(3);
        let d = directive(r#"{"reasoning": "one two", "text": "a b c d"}"#);
        let reply = build_reply(&p, &d);
        assert_eq!(reply.reasoning(), "one two");
        assert_eq!(reply.text(), "a");
        assert_eq!(reply.finish, Finish::Length);
        assert_eq!(reply.usage.completion, 3);
        assert_eq!(reply.usage.reasoning, 2);
    }

    #[test]
    fn usage_overrides_apply() {
        let d = directive(
            r#"{"usage": {"prompt": 100, "completion": 7, "cache_read": 40, "cache_write": 10, "reasoning": 2}}"#,
        );
        let usage = build_reply(&prompt("x"), &d).usage;
        assert_eq!(
            usage,
            Usage {
                prompt: 100,
                completion: 7,
                cached: 40,
                cache_write: 10,
                reasoning: 2
            }
        );
        assert_eq!(usage.uncached_prompt(), 50);
        assert_eq!(usage.visible_completion(), 5);
        assert_eq!(usage.total(), 107);
    }

    #[test]
    fn native_finish_wins() {
        let d = directive(r#"{"finish": "SAFETY"}"#);
        assert_eq!(
            build_reply(&prompt("x"), &d).finish,
            Finish::Native("SAFETY".to_owned())
        );
    }

    #[test]
    fn delivery_combines_directive_and_defaults() {
        let defaults = Defaults {
            latency_ms: 5,
            ttft_ms: 7,
            tokens_per_second: 100.0,
            split: Split::None,
        };
        let d = directive(r#"{"ttft_ms": 50, "split": "bytes:3", "hang": 2, "eol": "crlf"}"#);
        let delivery = delivery(&d, &defaults, 99).unwrap();
        assert_eq!(delivery.latency, Duration::from_millis(5));
        assert_eq!(delivery.ttft, Duration::from_millis(50));
        assert_eq!(delivery.per_token, Duration::from_millis(10));
        assert_eq!(delivery.split, Split::Bytes(3));
        assert_eq!(delivery.eol, Some(Eol::CrLf));
        assert_eq!(delivery.faults.hang_after, Some(2));
        assert!(!delivery.hang_before);
        assert_eq!(delivery.seed, 99);
        let hang = directive(r#"{"hang": true}"#);
        assert!(super::delivery(&hang, &defaults, 0).unwrap().hang_before);
    }

    #[test]
    fn client_turn_is_everything_after_the_model() {
        let messages = [
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "first"}),
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1"}]}),
            json!({"role": "tool", "tool_call_id": "c1", "content": "result one"}),
            json!({"role": "tool", "tool_call_id": "c2", "content": "result two"}),
        ];
        let speaker = |m: &serde_json::Value| match m["role"].as_str() {
            Some("assistant") => Speaker::Model,
            Some("system") => Speaker::System,
            _ => Speaker::Client,
        };
        let turns = client_turns(messages.iter(), speaker);
        // Object keys come in sorted order: `content` before `tool_call_id`.
        assert_eq!(turns.last, vec!["result one\nc1", "result two\nc2"]);
        // Earlier turns keep only the texts that may hold a directive.
        assert_eq!(turns.earlier, vec![Vec::<String>::new()]);
        let prefill = [
            json!({"role": "user", "content": [{"type": "text", "text": "q"}]}),
            json!({"role": "assistant", "content": "The answer is"}),
        ];
        let turns = client_turns(prefill.iter(), speaker);
        assert_eq!(turns.last, vec!["q"]);
        assert!(turns.earlier.is_empty());
    }

    #[test]
    fn newest_directive_of_the_turn_wins() {
        let turn = vec![
            "#sim {\"text\": \"old\"}".to_owned(),
            "plain".to_owned(),
            "result\n#sim {\"text\": \"new\"}".to_owned(),
        ];
        let found = turn_directive(&turn).unwrap().unwrap();
        assert_eq!(found.text.as_deref(), Some("new"));
        assert!(turn_directive(&["none".to_owned()]).unwrap().is_none());
    }

    #[test]
    fn then_scripts_the_turn_after_the_tool_results() {
        let speaker = |m: &serde_json::Value| match m["role"].as_str() {
            Some("assistant") => Speaker::Model,
            _ => Speaker::Client,
        };
        let first = json!({"role": "user", "content": "Weather?\n#sim {\"tool_calls\": [{\"name\": \"w\"}], \"then\": {\"text\": \"Sunny.\", \"then\": {\"text\": \"Bye.\"}}}"});
        let call = json!({"role": "assistant", "tool_calls": [{"id": "c1"}]});
        let result =
            json!({"role": "tool", "tool_call_id": "c1", "content": "{\"sky\": \"clear\"}"});
        let answer = json!({"role": "assistant", "content": "Sunny."});
        let thanks = json!({"role": "user", "content": "Thanks"});
        let resolve = |messages: &[&serde_json::Value]| {
            let turns = client_turns(messages.iter().copied(), speaker);
            let prompt = Prompt {
                turn: turns.last,
                earlier: turns.earlier,
                ..Prompt::default()
            };
            prompt_directive(&prompt).unwrap()
        };

        let own = resolve(&[&first]).unwrap();
        assert_eq!(own.tool_calls.len(), 1);
        let second = resolve(&[&first, &call, &result]).unwrap();
        assert_eq!(second.text.as_deref(), Some("Sunny."));
        let third = resolve(&[&first, &call, &result, &answer, &thanks]).unwrap();
        assert_eq!(third.text.as_deref(), Some("Bye."));
        let fourth = resolve(&[&first, &call, &result, &answer, &thanks, &answer, &thanks]);
        assert!(fourth.is_none());

        // A turn's own directive wins over the `then` it inherits, and passes on its own.
        let own_result = json!({"role": "tool", "content": "#sim {\"text\": \"Mine.\"}"});
        let mine = resolve(&[&first, &call, &own_result]).unwrap();
        assert_eq!(mine.text.as_deref(), Some("Mine."));
        assert!(resolve(&[&first, &call, &own_result, &answer, &thanks]).is_none());
    }

    #[test]
    fn message_tokens_count_text_but_not_roles() {
        let message = json!({"role": "user", "content": [{"type": "text", "text": "abcdefghi"}]});
        assert_eq!(message_tokens(&message), 3 + 3);
        assert_eq!(message_tokens(&json!({"role": "user", "content": ""})), 3);
    }
}
