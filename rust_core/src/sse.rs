//! Server-sent events: an incremental parser and the framing helpers.
//!
//! The parser follows the WHATWG HTML event-stream rules: lines end at CRLF,
//! lone LF or lone CR (a CR at the end of one read may pair with an LF at the
//! start of the next), a leading BOM is dropped once, `:` lines are comments,
//! `data` lines join with LF, an empty line dispatches, an event with no data
//! is not dispatched, and an event cut off by the end of the stream is
//! discarded. Bytes are buffered until a line is complete, so a UTF-8
//! character split across reads is decoded whole; invalid UTF-8 becomes
//! U+FFFD as the standard's decoder does.

use bytes::{BufMut, Bytes, BytesMut};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event` field; `None` means the default type, `message`.
    pub event: Option<String>,
    pub data: String,
    /// The last event id seen so far in the stream, if any.
    pub id: Option<String>,
    /// The reconnection time in milliseconds, when this event set one.
    pub retry: Option<u64>,
}

impl Event {
    /// The event type, `message` when no `event` field was given.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Incremental event-stream parser; feed it reads in order.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    /// The previous read ended with CR, so an LF starting this read belongs to it.
    after_cr: bool,
    /// Whether the first bytes (and a possible BOM) have been seen.
    started: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    retry: Option<u64>,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse `chunk` and append every event it completes to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Event>) {
        if !self.started {
            // The BOM may itself be split across reads; wait for three bytes.
            let mut head = std::mem::take(&mut self.line);
            head.extend_from_slice(chunk);
            if head.len() < BOM.len() && BOM.starts_with(&head) {
                self.line = head;
                return;
            }
            self.started = true;
            let start = if head.starts_with(BOM) { BOM.len() } else { 0 };
            let head = head[start..].to_vec();
            return self.feed(&head, out);
        }
        if chunk.is_empty() {
            // An empty read must not end a pending CR's wait for its LF.
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = memchr::memchr2(b'\r', b'\n', chunk) {
            self.line.extend_from_slice(&chunk[..end]);
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
            let crlf = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if crlf {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(chunk);
    }

    /// The stream ended: an unterminated event is discarded, as the standard says.
    pub fn finish(&mut self) {
        self.line.clear();
        self.reset_event();
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.has_data = false;
        self.event = None;
        self.retry = None;
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"event" => self.event = Some(value.into_owned()),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"id" if !value.contains('\0') => {
                self.last_id = (!value.is_empty()).then(|| value.into_owned());
            }
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if !self.has_data {
            self.reset_event();
            return;
        }
        out.push(Event {
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry: self.retry.take(),
        });
        self.has_data = false;
    }
}

/// Frame `data` as one event with an optional `event` name, ending in a blank line.
/// Each line of `data` becomes its own `data:` line.
pub fn frame(event: Option<&str>, data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 16);
    if let Some(name) = event {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_u8(b'\n');
    }
    for line in data.split('\n') {
        out.put_slice(b"data: ");
        out.put_slice(line.as_bytes());
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
    out.freeze()
}

/// A comment line, used as a keep-alive that clients ignore.
pub fn comment(text: &str) -> Bytes {
    Bytes::from(format!(": {text}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Event> {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out);
        }
        parser.finish();
        out
    }

    fn data(text: &str) -> Event {
        Event {
            data: text.to_owned(),
            ..Event::default()
        }
    }

    #[test]
    fn openai_style_stream() {
        let events = parse_all(&[b"data: {\"a\":1}\n\ndata: [DONE]\n\n"]);
        assert_eq!(events, vec![data("{\"a\":1}"), data("[DONE]")]);
    }

    #[test]
    fn named_events_and_multiline_data() {
        let events = parse_all(&[b"event: message_start\ndata: a\ndata: b\n\n"]);
        assert_eq!(events[0].event_type(), "message_start");
        assert_eq!(events[0].data, "a\nb");
    }

    #[test]
    fn crlf_split_between_reads() {
        let events = parse_all(&[b"data: x\r", b"\n\r", b"\ndata: y\r\n\r\n"]);
        assert_eq!(events, vec![data("x"), data("y")]);
    }

    #[test]
    fn crlf_split_by_an_empty_read() {
        let events = parse_all(&[b"data: x\r", b"", b"\ndata: y\r\n\r\n"]);
        assert_eq!(events, vec![data("x\ny")]);
    }

    #[test]
    fn lone_cr_ends_lines() {
        let events = parse_all(&[b"data: x\r\rdata: y\r\r"]);
        assert_eq!(events, vec![data("x"), data("y")]);
    }

    #[test]
    fn comments_and_empty_events_ignored() {
        let events = parse_all(&[b": ping\n\nevent: x\n\ndata: z\n\n"]);
        assert_eq!(events, vec![data("z")]);
    }

    #[test]
    fn field_without_colon_and_space_rules() {
        let events = parse_all(&[b"data\n\ndata:x\n\ndata:  two\n\n"]);
        assert_eq!(events, vec![data(""), data("x"), data(" two")]);
    }

    #[test]
    fn unterminated_event_discarded() {
        assert_eq!(parse_all(&[b"data: x\n"]), vec![]);
        assert_eq!(parse_all(&[b"data: x"]), vec![]);
    }

    #[test]
    fn bom_stripped_once_even_when_split() {
        let events = parse_all(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(events, vec![data("x")]);
        let events = parse_all(&[b"data: \xEF\xBB\xBFx\n\n"]);
        assert_eq!(events[0].data, "\u{FEFF}x");
    }

    #[test]
    fn split_utf8_character_decoded_whole() {
        let text = "data: 🙂\n\n".as_bytes();
        for cut in 1..text.len() {
            let events = parse_all(&[&text[..cut], &text[cut..]]);
            assert_eq!(events, vec![data("🙂")], "cut at {cut}");
        }
    }

    #[test]
    fn id_and_retry() {
        let events =
            parse_all(&[b"id: 7\nretry: 1500\ndata: a\n\ndata: b\n\nretry: x\nid\ndata: c\n\n"]);
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].retry, Some(1500));
        assert_eq!(events[1].id.as_deref(), Some("7"));
        assert_eq!(events[1].retry, None);
        assert_eq!(events[2].id, None);
    }

    #[test]
    fn frame_round_trips() {
        let framed = frame(Some("delta"), "line one\nline two");
        let events = parse_all(&[&framed]);
        assert_eq!(events[0].event.as_deref(), Some("delta"));
        assert_eq!(events[0].data, "line one\nline two");
    }

    fn event_strategy() -> impl Strategy<Value = (Option<String>, String)> {
        let name = proptest::option::of("[a-z_]{1,12}");
        // Data may hold any character but CR; LF splits it into several data lines.
        let data =
            proptest::collection::vec(any::<char>().prop_filter("no CR", |c| *c != '\r'), 0..40)
                .prop_map(|chars| chars.into_iter().collect::<String>());
        (name, data)
    }

    proptest! {
        #[test]
        fn any_chunking_gives_same_events(
            events in proptest::collection::vec(event_strategy(), 0..8),
            eol in 0usize..3,
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let eol: &[u8] = [&b"\n"[..], b"\r\n", b"\r"][eol];
            let mut wire = Vec::new();
            for (name, data) in &events {
                wire.extend_from_slice(b": keep-alive");
                wire.extend_from_slice(eol);
                if let Some(name) = name {
                    wire.extend_from_slice(b"event: ");
                    wire.extend_from_slice(name.as_bytes());
                    wire.extend_from_slice(eol);
                }
                for line in data.split('\n') {
                    wire.extend_from_slice(b"data: ");
                    wire.extend_from_slice(line.as_bytes());
                    wire.extend_from_slice(eol);
                }
                wire.extend_from_slice(eol);
            }
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for point in points {
                chunks.push(&wire[last..point]);
                last = point;
            }
            chunks.push(&wire[last..]);

            let parsed = parse_all(&chunks);
            let whole = parse_all(&[&wire]);
            prop_assert_eq!(&parsed, &whole);
            prop_assert_eq!(parsed.len(), events.len());
            for (got, (name, data)) in parsed.iter().zip(&events) {
                prop_assert_eq!(&got.event, name);
                prop_assert_eq!(&got.data, data);
            }
        }
    }
}
