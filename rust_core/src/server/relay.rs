//! The stream relay: upstream SSE in, client SSE out, event by event.
//!
//! A task reads the upstream body as it arrives, feeds the SSE parser, hands
//! each event to the provider's [`StreamTranslator`] and sends the resulting
//! chunks to the client at once; nothing is buffered beyond the event being
//! parsed. A [`StreamOutput`] frames the chunks for the client: for chat
//! completions ([`ChatStream`]) the stream ends with `data: [DONE]` when the
//! provider finished it, and a failure after the first byte (provider error
//! event, cut connection, idle timeout) becomes one error event in the
//! gateway's envelope, after which the stream closes without `[DONE]`. When the
//! client disconnects, the task drops the upstream body, which closes the
//! upstream connection and so cancels the provider's work, then settles what
//! was consumed.

use std::future::Future;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures_util::{stream, FutureExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::sync::mpsc;

use super::http::Body;
use super::meter::{estimated_usage, Outcome, Settlement};
use super::AppState;
use crate::error::GatewayError;
use crate::sse;
use crate::translate::{Flow, StreamTranslator, Usage};
use std::sync::Arc;

/// Chunks waiting for a slow client before the relay stops reading upstream.
const CHANNEL_DEPTH: usize = 16;
const DONE: &[u8] = b"data: [DONE]\n\n";

/// The client side of a relayed stream: the framing of its chunks, its end and its failure.
pub trait StreamOutput: Send + 'static {
    /// Bytes to send as soon as the stream starts, before the first upstream event.
    fn start(&mut self) -> Option<Bytes> {
        None
    }

    /// Frame translated `chat.completion.chunk` documents into `out`, draining `chunks`. An
    /// error ends the stream as a failure.
    fn chunks(&mut self, chunks: &mut Vec<Bytes>, out: &mut BytesMut) -> Result<(), GatewayError>;

    /// Return the closing bytes once the provider finished the stream. An error turns the end
    /// into a failure, reported through [`StreamOutput::failed`].
    fn done(&mut self) -> impl Future<Output = Result<Bytes, GatewayError>> + Send;

    /// Return the event that reports a failure after the stream started.
    fn failed(&mut self, err: &GatewayError, request_id: &str) -> Bytes;
}

/// The chat-completions framing: `data:` lines, `data: [DONE]` at the end, the error envelope
/// on failure.
pub struct ChatStream;

impl StreamOutput for ChatStream {
    fn chunks(&mut self, chunks: &mut Vec<Bytes>, out: &mut BytesMut) -> Result<(), GatewayError> {
        for chunk in chunks.drain(..) {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&chunk);
            out.extend_from_slice(b"\n\n");
        }
        Ok(())
    }

    async fn done(&mut self) -> Result<Bytes, GatewayError> {
        Ok(Bytes::from_static(DONE))
    }

    fn failed(&mut self, err: &GatewayError, request_id: &str) -> Bytes {
        let mut event = BytesMut::from(&b"data: "[..]);
        event.extend_from_slice(&err.to_json(request_id));
        event.extend_from_slice(b"\n\n");
        event.freeze()
    }
}

/// The way the upstream stream ended.
enum End {
    /// The provider finished it.
    Done,
    /// It failed; the client gets an error event.
    Failed(GatewayError),
    /// The client went away first.
    ClientGone,
}

/// Relay `body` through `translator` into a client response body framed by `output`.
pub fn relay<O: StreamOutput>(
    state: Arc<AppState>,
    body: Incoming,
    translator: Box<dyn StreamTranslator>,
    output: O,
    settlement: Settlement,
    request_id: String,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    tokio::spawn(run(
        state, body, translator, output, settlement, request_id, tx,
    ));
    let chunks = stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    });
    StreamBody::new(chunks).boxed_unsync()
}

async fn run<O: StreamOutput>(
    state: Arc<AppState>,
    mut body: Incoming,
    mut translator: Box<dyn StreamTranslator>,
    mut output: O,
    mut settlement: Settlement,
    request_id: String,
    tx: mpsc::Sender<Bytes>,
) {
    let idle = state.upstream.idle_timeout;
    let started = settlement
        .call()
        .map_or_else(Instant::now, |call| call.started);
    let mut parser = sse::Parser::new();
    let mut events = Vec::new();
    let mut chunks = Vec::new();
    let opened = match output.start() {
        Some(preamble) => tx.send(preamble).await.is_ok(),
        None => true,
    };

    let end = loop {
        if !opened {
            break End::ClientGone;
        }
        let frame = tokio::select! {
            _ = tx.closed() => break End::ClientGone,
            frame = tokio::time::timeout(idle, body.frame()) => frame,
        };
        let mut out = BytesMut::new();
        let mut end = None;
        match frame {
            Err(_) => {
                end = Some(End::Failed(GatewayError::new(
                    "upstream_timeout",
                    format!(
                        "the provider sent nothing for {} ms during the stream",
                        idle.as_millis()
                    ),
                )));
            }
            Ok(None) => {
                parser.finish();
                end = Some(match translator.on_end(&mut chunks) {
                    Ok(()) => End::Done,
                    Err(err) => End::Failed(err),
                });
            }
            Ok(Some(Err(err))) => {
                end = Some(End::Failed(
                    GatewayError::new(
                        "upstream_error",
                        "the connection to the provider broke during the stream",
                    )
                    .with_cause(err),
                ));
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    parser.feed(&data, &mut events);
                }
                for event in events.drain(..) {
                    match translator.on_event(&event, &mut chunks) {
                        Ok(Flow::Continue) => {}
                        Ok(Flow::Done) => {
                            end = Some(match translator.on_end(&mut chunks) {
                                Ok(()) => End::Done,
                                Err(err) => End::Failed(err),
                            });
                            break;
                        }
                        Err(err) => {
                            end = Some(End::Failed(err));
                            break;
                        }
                    }
                }
            }
        }
        if let Err(err) = output.chunks(&mut chunks, &mut out) {
            if !matches!(end, Some(End::Failed(_))) {
                end = Some(End::Failed(err));
            }
        }
        settlement.streamed_chars = translator.streamed_chars();
        if !out.is_empty() {
            // The first token, not the first chunk: providers send the role chunk at once.
            if settlement.time_to_first_token.is_none() && settlement.streamed_chars > 0 {
                settlement.time_to_first_token = Some(started.elapsed());
            }
            if tx.send(out.freeze()).await.is_err() {
                break End::ClientGone;
            }
        }
        if let Some(end) = end {
            break end;
        }
    };
    if matches!(end, End::Done) {
        // The end of the body often arrives with the last event. Polling once lets hyper see
        // it and return the connection to the pool instead of closing it.
        let _ = body.frame().now_or_never();
    }
    drop(body);
    let reported = translator.usage();
    let streamed_chars = translator.streamed_chars();
    drop(translator);
    finish(
        &state,
        end,
        &mut output,
        reported,
        streamed_chars,
        settlement,
        &request_id,
        &tx,
    )
    .await;
}

#[allow(clippy::too_many_arguments)]
async fn finish<O: StreamOutput>(
    state: &AppState,
    end: End,
    output: &mut O,
    reported: Option<Usage>,
    streamed_chars: usize,
    settlement: Settlement,
    request_id: &str,
    tx: &mpsc::Sender<Bytes>,
) {
    let (error_code, status) = match end {
        End::ClientGone => {
            settlement.client_disconnected(reported);
            return;
        }
        End::Done => match output.done().await {
            Ok(closing) => {
                // A send error here means the client left after the last chunk; nothing is owed.
                let _ = tx.send(closing).await;
                (None, 200)
            }
            Err(err) => fail(state, output, err, request_id, tx).await,
        },
        End::Failed(err) => fail(state, output, err, request_id, tx).await,
    };
    let usage = match (reported, settlement.call()) {
        (Some(usage), _) => Some(usage),
        (None, Some(call)) => Some(estimated_usage(call, streamed_chars)),
        (None, None) => None,
    };
    let outcome = Outcome {
        status,
        error_code,
        usage_estimated: reported.is_none(),
        usage: usage.unwrap_or_default(),
        upstream_latency: settlement.upstream_latency,
        time_to_first_token: settlement.time_to_first_token,
    };
    settlement.finish(outcome);
}

/// Tell the client the stream failed; return the error code and status to settle with.
async fn fail<O: StreamOutput>(
    state: &AppState,
    output: &mut O,
    err: GatewayError,
    request_id: &str,
    tx: &mpsc::Sender<Bytes>,
) -> (Option<&'static str>, u16) {
    tracing::warn!(request_id, code = err.code, error = %err, "stream failed after it started");
    state.metrics.record_error(err.code);
    let _ = tx.send(output.failed(&err, request_id)).await;
    (Some(err.code), 200)
}
