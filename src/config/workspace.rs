//! One watched workspace's settings: where its API is, how the client
//! proves who it is, its budget and intervals, and its job ingestion. The
//! flags describe one; `--config.file` describes many.

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::Url;

use super::{Auth, JobsConfig};

/// A workspace to watch.
#[derive(Debug, Clone)]
pub struct WorkspaceConfig {
    /// The `workspace` label: unique, `[a-zA-Z0-9_.:-]+` (Embedded
    /// customers add `/` and their id).
    pub name: String,
    pub base_url: Url,
    pub auth: Auth,
    /// Requests a minute per endpoint group.
    pub requests_per_minute: NonZeroU32,
    /// Recipes, connections and API platform.
    pub poll_interval: Duration,
    /// Workspace details (users/me).
    pub workspace_interval: Duration,
    pub jobs_interval: Duration,
    pub jobs: JobsConfig,
}
