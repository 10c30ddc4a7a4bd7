//! One watched workspace's settings: where its API is, how the client
//! proves who it is, its budget and intervals, and its job ingestion. The
//! flags describe one; `--config.file` describes many.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

/// A workspace to watch.
#[derive(Debug, Clone, PartialEq)]
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

/// How the client proves who it is to Workato.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>` (API clients).
    Bearer(SecretString),
    /// Legacy `X-USER-EMAIL` + `X-USER-TOKEN` headers.
    Legacy { email: String, token: SecretString },
}

/// Equal when the same credentials would be sent (a reload compares the
/// old settings with the new).
impl PartialEq for Auth {
    fn eq(&self, other: &Auth) -> bool {
        use secrecy::ExposeSecret;
        match (self, other) {
            (Auth::Bearer(a), Auth::Bearer(b)) => a.expose_secret() == b.expose_secret(),
            (Auth::Legacy { email: e, token: a }, Auth::Legacy { email: f, token: b }) => {
                e == f && a.expose_secret() == b.expose_secret()
            }
            _ => false,
        }
    }
}

/// Job ingestion settings.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsConfig {
    /// Window of `workato_recipe_job_failure_ratio`.
    pub window: Duration,
    /// Distinct (adapter, error_type) pairs per recipe before `other`.
    pub max_error_types: usize,
    /// Where watermarks and pending jobs survive restarts.
    pub state_file: Option<PathBuf>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            window: Duration::from_secs(3600),
            max_error_types: 10,
            state_file: None,
        }
    }
}
