//! `http_server`: the small HTTP/1.1 serving leaf that the exporter's
//! routes, its admin route and the simulated Workato API stand on. It knows
//! nothing of Workato or of metrics.
//!
//! - [`body`]: the response [`Body`] (buffers sent as they are, not joined)
//!   and the text and JSON answers built on it.
//! - [`serve`]: the [`Handler`] trait and the accept loop, with its
//!   connection limit, quiet logging of failures and graceful shutdown,
//!   with TLS, basic auth and headers when a [`web`] configuration is given.
//! - [`web`]: the Prometheus exporter toolkit's web configuration file
//!   (`--web.config.file`) and its reloading.

pub mod body;
pub mod serve;
pub mod web;

pub use body::{Body, json, json_message, text};
pub use serve::{
    ACCEPT_LOG_INTERVAL, ACCEPT_PAUSE, DEFAULT_MAX_CONNECTIONS, Handler, LogLimiter, SHUTDOWN_GRACE, serve, serve_with,
};
pub use web::Web;
