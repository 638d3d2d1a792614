//! Process-wide `tracing` subscriber writing to standard error.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Install the subscriber once; later calls keep the first one.
pub fn init(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(format!("{level},h2=warn,hyper=warn,redis=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
