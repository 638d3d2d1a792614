//! An upstream simulator that speaks the wire formats of OpenAI, xAI, Anthropic
//! and Google Gemini, so tests, benchmarks and demos need no real provider.
//!
//! Responses are deterministic: content, usage and tool calls depend only on the
//! request, and a `#sim {json}` directive in the last client turn scripts
//! them, along with errors, faults, timing and how the body is cut into
//! writes (see `script.rs`). Requests are recorded for inspection under
//! `/_sim/requests` (see `record.rs`). The server runs on its own tokio
//! runtime, like the data plane.

mod anthropic;
mod auth;
mod chat;
pub mod config;
mod errors;
mod gemini;
mod handler;
mod record;
mod responses;
mod router;
pub mod script;
pub mod split;
mod stream;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;

pub use config::SimConfig;
pub use record::fingerprint;

use config::Checked;
use record::Recorder;
use script::Defaults;

use crate::server::StartError;

/// A request the simulator rejects as the provider would, with status 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub param: Option<String>,
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: None,
        }
    }

    pub fn param(message: impl Into<String>, param: &str) -> Self {
        Self {
            message: message.into(),
            param: Some(param.to_owned()),
        }
    }
}

/// State shared by every request of one simulator.
pub struct SimState {
    config: Checked,
    defaults: Defaults,
    recorder: Recorder,
    /// Random per instance, so ids differ between runs.
    salt: u32,
    next_serial: AtomicU64,
}

impl SimState {
    fn new(config: Checked) -> Self {
        let defaults = Defaults {
            latency_ms: config.raw.latency_ms,
            ttft_ms: config.raw.ttft_ms,
            tokens_per_second: config.raw.tokens_per_second,
            split: config.split,
        };
        let recorder = Recorder::new(config.raw.record_limit);
        Self {
            config,
            defaults,
            recorder,
            salt: rand::thread_rng().next_u32(),
            next_serial: AtomicU64::new(1),
        }
    }

    /// Mint a 24-character value unique to one call of this instance.
    fn serial(&self) -> String {
        let n = self.next_serial.fetch_add(1, Ordering::Relaxed);
        format!("sim{:08x}{n:013x}", self.salt)
    }
}

/// A started simulator; dropping it without [`Running::stop`] aborts connections.
pub struct Running {
    runtime: Runtime,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting, give open responses up to `grace` to finish, then drop the rest.
    pub fn stop(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let served = self.served;
        self.runtime.block_on(async {
            let _ = tokio::time::timeout(grace + Duration::from_millis(200), served).await;
        });
        self.runtime.shutdown_timeout(Duration::from_millis(200));
    }
}

/// Build the runtime, bind the listener and start serving.
pub fn start(config: SimConfig, grace: Duration) -> Result<Running, StartError> {
    let config = config.check().map_err(|reason| StartError::Setting {
        setting: "simulator",
        reason,
    })?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("assistiv-simulator");
    if config.raw.threads > 0 {
        builder.worker_threads(config.raw.threads);
    }
    let runtime = builder.build().map_err(StartError::Runtime)?;

    let address = format!("{}:{}", config.raw.host, config.raw.port);
    let listener = runtime
        .block_on(TcpListener::bind(&address))
        .map_err(|source| StartError::Bind {
            address: address.clone(),
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { address, source })?;

    let state = Arc::new(SimState::new(config));
    let (shutdown, signal) = watch::channel(false);
    let served = runtime.spawn(serve(listener, state, signal, grace));
    tracing::info!(address = %local_addr, "simulator listening");
    Ok(Running {
        runtime,
        local_addr,
        shutdown,
        served,
    })
}

async fn serve(
    listener: TcpListener,
    state: Arc<SimState>,
    mut signal: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        tracing::warn!(error = %err, "simulator accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |request| router::handle(state.clone(), request));
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "simulator connection closed with an error");
                    }
                });
            }
            _ = signal.changed() => break,
        }
    }
    drop(listener);
    tracing::info!("simulator stopping");
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

#[cfg(test)]
mod tests;
