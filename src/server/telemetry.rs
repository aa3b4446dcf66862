//! Structured logs through tracing: text by default, JSON with `LOCKBOX_LOG_FORMAT=json`.

use crate::server::config::{Config, LogFormat};
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests run several servers in one process) is harmless: keep the first.
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
