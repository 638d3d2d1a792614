//! The data-plane HTTP server: one tokio runtime, hyper connections, and a
//! router that serves inference paths itself and forwards the rest.

mod auth;
mod cache;
mod chat;
mod health;
pub mod http;
pub mod meter;
mod metrics;
mod models;
mod proxy;
mod relay;
mod responses;
mod router;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::crypto::{Keyring, MasterKey};
use crate::logs::LogWriter;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub use proxy::ControlPlane;

const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid setting {setting}: {reason}")]
    Setting {
        setting: &'static str,
        reason: String,
    },
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("Redis at {url} is unreachable: {source}")]
    Redis {
        url: String,
        source: redis::RedisError,
    },
}

/// State shared by every request of one data-plane instance.
pub struct AppState {
    pub config: Config,
    pub redis: ConnectionManager,
    pub control: ControlPlane,
    pub pepper: Vec<u8>,
    pub keyring: Keyring,
    pub catalog: Catalog,
    pub tenancy: auth::TenancyCache,
    pub upstream: upstream::Upstream,
    pub metrics: metrics::Metrics,
    pub logs: LogWriter,
    /// Work that outlives its request (settlements, log writes); shutdown waits for it.
    pub background: TaskTracker,
}

impl AppState {
    pub async fn ping_redis(&self) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        redis::cmd("PING").query_async::<()>(&mut conn).await
    }
}

/// A started data plane; dropping it without [`Running::stop`] aborts connections.
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

    /// Stop accepting, let in-flight requests finish for up to `grace`, then stop.
    pub fn stop(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let served = self.served;
        self.runtime.block_on(async {
            if tokio::time::timeout(grace + Duration::from_millis(500), served)
                .await
                .is_err()
            {
                tracing::warn!("data plane did not stop in time; aborting open connections");
            }
        });
        self.runtime.shutdown_timeout(Duration::from_millis(200));
    }
}

fn keyring(config: &Config) -> Result<Keyring, StartError> {
    let decode = |value: &str| -> Result<MasterKey, StartError> {
        let bytes = STANDARD.decode(value).map_err(|err| StartError::Setting {
            setting: "master_key",
            reason: format!("not base64: {err}"),
        })?;
        MasterKey::new(&bytes).map_err(|err| StartError::Setting {
            setting: "master_key",
            reason: err.to_string(),
        })
    };
    let current = decode(&config.master_key)?;
    let retired = config
        .retired_master_keys
        .iter()
        .map(|key| decode(key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Keyring::new(current, retired))
}

async fn connect_redis(url: &str) -> Result<ConnectionManager, StartError> {
    let fail = |source| StartError::Redis {
        url: url.to_owned(),
        source,
    };
    let client = redis::Client::open(url).map_err(fail)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1);
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(fail)
}

/// Build the runtime, bind the listener, connect to Redis and start serving.
pub fn start(config: Config, grace: Duration) -> Result<Running, StartError> {
    let pepper = hex::decode(&config.key_pepper).map_err(|err| StartError::Setting {
        setting: "key_pepper",
        reason: format!("not hex: {err}"),
    })?;
    let keyring = keyring(&config)?;
    let catalog =
        Catalog::load(config.catalog_path.as_deref()).map_err(|err| StartError::Setting {
            setting: "catalog_path",
            reason: err.to_string(),
        })?;
    let metrics = metrics::Metrics::new().map_err(|err| StartError::Setting {
        setting: "metrics",
        reason: err.to_string(),
    })?;

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("assistiv-data-plane");
    if config.worker_threads > 0 {
        builder.worker_threads(config.worker_threads);
    }
    let runtime = builder.build().map_err(StartError::Runtime)?;

    let address = format!("{}:{}", config.host, config.port);
    let pubsub_client =
        redis::Client::open(config.redis_url.as_str()).map_err(|source| StartError::Redis {
            url: config.redis_url.clone(),
            source,
        })?;
    let (listener, redis) = runtime.block_on(async {
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| StartError::Bind {
                address: address.clone(),
                source,
            })?;
        let redis = connect_redis(&config.redis_url).await?;
        Ok::<_, StartError>((listener, redis))
    })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        address: address.clone(),
        source,
    })?;

    let control = ControlPlane::new(config.control_plane_socket.clone());
    let tenancy = auth::TenancyCache::new(Duration::from_millis(config.key_cache_ttl_ms));
    let upstream = runtime.block_on(async { upstream::Upstream::new(&config) });
    let logs = LogWriter::new(config.log_retention_days, config.test_clock);
    let state = Arc::new(AppState {
        config,
        redis,
        control,
        pepper,
        keyring,
        catalog,
        tenancy,
        upstream,
        metrics,
        logs,
        background: TaskTracker::new(),
    });
    let invalidate: Arc<dyn cache::Invalidate> = Arc::new(TenancyInvalidator(state.clone()));
    runtime.block_on(async { cache::spawn_listener(pubsub_client, invalidate) });
    let (shutdown, signal) = watch::channel(false);
    let served = runtime.spawn(serve(listener, state, signal, grace));
    tracing::info!(address = %local_addr, "data plane listening");
    Ok(Running {
        runtime,
        local_addr,
        shutdown,
        served,
    })
}

async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    mut signal: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |request| router::handle(state.clone(), request, peer));
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "connection closed with an error");
                    }
                });
            }
            _ = signal.changed() => break,
        }
    }
    drop(listener);
    tracing::info!("data plane stopping");
    let deadline = tokio::time::Instant::now() + grace;
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "in-flight requests cut at shutdown"
        );
    }
    // Settlements and log writes of the last requests finish within the same grace.
    state.background.close();
    if tokio::time::timeout_at(deadline, state.background.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            pending = state.background.len(),
            "settlements or log writes cut at shutdown"
        );
    }
}

/// Evicts the shared state's tenancy cache on invalidation messages.
struct TenancyInvalidator(Arc<AppState>);

impl cache::Invalidate for TenancyInvalidator {
    fn invalidate(&self, message: &str) {
        self.0.tenancy.invalidate(message);
    }

    fn clear_all(&self) {
        self.0.tenancy.clear_all();
    }
}
