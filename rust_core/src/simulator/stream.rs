//! The response body: events written with the scripted timing, splitting and faults.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use super::record::{Outcome, Tracker};
use super::script::{Delivery, Faults};
use super::split::Splitter;
use crate::server::http::{Body, BoxError};

/// Time left between the last write and closing a cut connection, so that the
/// server flushes what was written before it drops the socket.
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(5);

/// One SSE event (or a whole JSON body) and the number of tokens it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub bytes: Bytes,
    pub tokens: u32,
}

impl Event {
    pub fn new(bytes: Bytes, tokens: u32) -> Self {
        Self { bytes, tokens }
    }
}

/// A rendered streaming response, with the frames a fault may insert.
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub events: Vec<Event>,
    /// A data line that is not JSON, sent by `malformed_after`.
    pub malformed: Bytes,
    /// The provider's in-stream error event, sent by `error_after`.
    pub error: Bytes,
}

/// Build the body that plays `script` as `delivery` says, reporting the outcome to `tracker`.
pub fn body(script: Script, delivery: &Delivery, tracker: Tracker) -> Body {
    let emitter = Emitter {
        events: script.events.into_iter(),
        malformed: Some(script.malformed),
        error: Some(script.error),
        faults: delivery.faults,
        ttft: delivery.ttft,
        per_token: delivery.per_token,
        first_token_sent: false,
        sent: 0,
        queue: VecDeque::new(),
        splitter: Splitter::new(delivery.split, delivery.seed),
        ending: false,
        tracker,
    };
    let frames = stream::unfold(emitter, |mut emitter| async move {
        let frame = emitter.next().await?;
        Some((frame, emitter))
    });
    StreamBody::new(frames).boxed_unsync()
}

/// Build a non-streamed JSON body with byte-counted faults. `cut_after` and `hang` send the
/// first N bytes, and `malformed_after` replaces the rest of the body after N bytes with text
/// that is not JSON. The body has no declared length, so each write reaches the client as its
/// own HTTP/1.1 chunk.
pub fn json_body(json: Bytes, delivery: &Delivery, tracker: Tracker) -> Body {
    let faults = delivery.faults;
    let stop = faults.cut_after.or(faults.hang_after);
    let (json, faults) = match (stop, faults.malformed_after) {
        (Some(n), _) => {
            let n = (n as usize).min(json.len());
            let faults = Faults {
                cut_after: faults.cut_after.map(|_| 1),
                hang_after: faults.hang_after.map(|_| 1),
                ..Faults::default()
            };
            (json.slice(..n), faults)
        }
        (None, Some(n)) => {
            let n = (n as usize).min(json.len());
            let mut broken = json[..n].to_vec();
            broken.extend_from_slice(b"<<not json");
            (Bytes::from(broken), Faults::default())
        }
        (None, None) => (json, Faults::default()),
    };
    let delivery = Delivery {
        faults,
        ttft: Duration::ZERO,
        per_token: Duration::ZERO,
        ..delivery.clone()
    };
    let script = Script {
        events: vec![Event::new(json, 0)],
        ..Script::default()
    };
    body(script, &delivery, tracker)
}

/// Parse the events of `script` as a client would, for tests.
#[cfg(test)]
pub fn replay(script: &Script) -> Vec<crate::sse::Event> {
    let mut parser = crate::sse::Parser::new();
    let mut out = Vec::new();
    for event in &script.events {
        parser.feed(&event.bytes, &mut out);
    }
    parser.finish();
    out
}

struct Emitter {
    events: std::vec::IntoIter<Event>,
    malformed: Option<Bytes>,
    error: Option<Bytes>,
    faults: Faults,
    ttft: Duration,
    per_token: Duration,
    first_token_sent: bool,
    /// Events taken from `events` so far; faults trigger on this count.
    sent: u64,
    /// Writes ready to hand to the connection.
    queue: VecDeque<Bytes>,
    splitter: Splitter,
    /// No more events: drain the queue, then end.
    ending: bool,
    tracker: Tracker,
}

impl Emitter {
    async fn next(&mut self) -> Option<Result<Frame<Bytes>, BoxError>> {
        loop {
            if let Some(write) = self.queue.pop_front() {
                return Some(Ok(Frame::data(write)));
            }
            if self.ending {
                self.tracker.complete();
                return None;
            }
            let faults = self.faults;
            if faults.error_after == Some(self.sent) {
                if let Some(error) = self.error.take() {
                    self.splitter.push(error, &mut self.queue);
                    self.splitter.flush(&mut self.queue);
                    self.ending = true;
                    self.tracker.finish(Outcome::Errored);
                    continue;
                }
            }
            if faults.malformed_after == Some(self.sent) {
                if let Some(malformed) = self.malformed.take() {
                    self.splitter.push(malformed, &mut self.queue);
                    continue;
                }
            }
            if faults.cut_after == Some(self.sent) {
                if self.release_held() {
                    continue;
                }
                tokio::time::sleep(FLUSH_BEFORE_CUT).await;
                self.tracker.finish(Outcome::Cut);
                return Some(Err("connection cut by the directive".into()));
            }
            if faults.hang_after == Some(self.sent) {
                if self.release_held() {
                    continue;
                }
                self.tracker.finish(Outcome::Hung);
                std::future::pending::<()>().await;
            }
            match self.events.next() {
                Some(event) => {
                    self.wait_for(event.tokens).await;
                    self.splitter.push(event.bytes, &mut self.queue);
                    self.sent += 1;
                }
                None => {
                    self.splitter.flush(&mut self.queue);
                    self.ending = true;
                }
            }
        }
    }

    /// Queue bytes the splitter held back; false when there were none.
    fn release_held(&mut self) -> bool {
        self.splitter.flush(&mut self.queue);
        !self.queue.is_empty()
    }

    async fn wait_for(&mut self, tokens: u32) {
        if tokens == 0 {
            return;
        }
        let delay = if self.first_token_sent {
            self.per_token * tokens
        } else {
            self.first_token_sent = true;
            self.ttft
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::split::Split;

    fn delivery(faults: Faults, split: Split) -> Delivery {
        Delivery {
            latency: Duration::ZERO,
            ttft: Duration::ZERO,
            per_token: Duration::ZERO,
            split,
            eol: None,
            seed: 7,
            faults,
            hang_before: false,
        }
    }

    fn script() -> Script {
        Script {
            events: ["a", "b", "c"]
                .iter()
                .map(|name| Event::new(Bytes::from(format!("data: {name}\n\n")), 1))
                .collect(),
            malformed: Bytes::from_static(b"data: {bad\n\n"),
            error: Bytes::from_static(b"data: {\"error\":{}}\n\n"),
        }
    }

    /// Collect the writes of `body` until it ends or fails; the flag says whether it failed.
    async fn drain(mut body: Body) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => out.extend_from_slice(frame.data_ref().unwrap()),
                Err(_) => return (out, true),
            }
        }
        (out, false)
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[tokio::test]
    async fn plays_every_event() {
        let (tracker, outcome) = Tracker::detached();
        let body = body(script(), &delivery(Faults::default(), Split::None), tracker);
        let (out, failed) = drain(body).await;
        assert_eq!(text(&out), "data: a\n\ndata: b\n\ndata: c\n\n");
        assert!(!failed);
        assert_eq!(outcome.get(), Outcome::Completed);
    }

    #[tokio::test]
    async fn cut_after_fails_the_body_after_n_events() {
        let faults = Faults {
            cut_after: Some(2),
            ..Faults::default()
        };
        let (tracker, outcome) = Tracker::detached();
        let (out, failed) = drain(body(
            script(),
            &delivery(faults, Split::Adversarial),
            tracker,
        ))
        .await;
        assert_eq!(text(&out), "data: a\n\ndata: b\n\n");
        assert!(failed);
        assert_eq!(outcome.get(), Outcome::Cut);
    }

    #[tokio::test]
    async fn malformed_after_inserts_and_goes_on() {
        let faults = Faults {
            malformed_after: Some(1),
            ..Faults::default()
        };
        let (tracker, _) = Tracker::detached();
        let (out, failed) = drain(body(script(), &delivery(faults, Split::None), tracker)).await;
        assert_eq!(
            text(&out),
            "data: a\n\ndata: {bad\n\ndata: b\n\ndata: c\n\n"
        );
        assert!(!failed);
    }

    #[tokio::test]
    async fn error_after_ends_with_the_error_event() {
        let faults = Faults {
            error_after: Some(0),
            ..Faults::default()
        };
        let (tracker, outcome) = Tracker::detached();
        let (out, failed) = drain(body(script(), &delivery(faults, Split::None), tracker)).await;
        assert_eq!(text(&out), "data: {\"error\":{}}\n\n");
        assert!(!failed);
        assert_eq!(outcome.get(), Outcome::Errored);
    }

    #[tokio::test]
    async fn hang_after_stalls() {
        let faults = Faults {
            hang_after: Some(1),
            ..Faults::default()
        };
        let (tracker, outcome) = Tracker::detached();
        let mut body = body(script(), &delivery(faults, Split::Bytes(4)), tracker);
        let mut out = Vec::new();
        loop {
            let next = tokio::time::timeout(Duration::from_millis(50), body.frame()).await;
            match next {
                Ok(Some(Ok(frame))) => out.extend_from_slice(frame.data_ref().unwrap()),
                Ok(_) => panic!("the body ended instead of stalling"),
                Err(_) => break,
            }
        }
        assert_eq!(text(&out), "data: a\n\n");
        assert_eq!(outcome.get(), Outcome::Hung);
    }

    #[tokio::test]
    async fn dropped_body_reports_disconnect() {
        let (tracker, outcome) = Tracker::detached();
        let mut body = body(script(), &delivery(Faults::default(), Split::None), tracker);
        let _ = body.frame().await;
        drop(body);
        assert_eq!(outcome.get(), Outcome::Disconnected);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_paced_after_ttft() {
        let mut delivery = delivery(Faults::default(), Split::None);
        delivery.ttft = Duration::from_millis(300);
        delivery.per_token = Duration::from_millis(100);
        let (tracker, _) = Tracker::detached();
        let started = tokio::time::Instant::now();
        let _ = drain(body(script(), &delivery, tracker)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test]
    async fn json_body_cut_sends_the_first_bytes() {
        let faults = Faults {
            cut_after: Some(4),
            ..Faults::default()
        };
        let (tracker, _) = Tracker::detached();
        let body = json_body(
            Bytes::from_static(b"{\"a\":1}"),
            &delivery(faults, Split::None),
            tracker,
        );
        let (out, failed) = drain(body).await;
        assert_eq!(text(&out), "{\"a\"");
        assert!(failed);
    }

    #[tokio::test]
    async fn json_body_malformed_is_not_json() {
        let faults = Faults {
            malformed_after: Some(3),
            ..Faults::default()
        };
        let (tracker, _) = Tracker::detached();
        let body = json_body(
            Bytes::from_static(b"{\"a\":1}"),
            &delivery(faults, Split::None),
            tracker,
        );
        let (out, failed) = drain(body).await;
        assert_eq!(text(&out), "{\"a<<not json");
        assert!(!failed);
    }
}
