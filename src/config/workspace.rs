//! One watched workspace's settings: where its API is, how the client
//! proves who it is, its budget and intervals, and its job ingestion. The
//! flags describe one; `--config.file` describes many, and Embed admin
//! workspaces whose customers are found at run time.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

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

impl Auth {
    /// The token, whatever the headers it travels in.
    pub fn token(&self) -> &SecretString {
        match self {
            Auth::Bearer(token) | Auth::Legacy { token, .. } => token,
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

/// An Embed admin workspace whose customer workspaces are watched, each
/// labelled `<name>/<managed user id>`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedConfig {
    /// The label's prefix: unique among workspaces and Embedded entries,
    /// `[a-zA-Z0-9_.:-]+`.
    pub name: String,
    pub base_url: Url,
    /// The Embed admin workspace's API client.
    pub auth: Auth,
    /// Requests a minute per endpoint group for the admin workspace and
    /// all its customers together: Workato counts the quota per admin
    /// workspace.
    pub requests_per_minute: NonZeroU32,
    /// Each customer's recipes, connections and API platform.
    pub poll_interval: Duration,
    /// Each customer's workspace details.
    pub workspace_interval: Duration,
    pub jobs_interval: Duration,
    /// The customers' job settings; `state_file` is unset, and each
    /// customer's is [`EmbeddedConfig::customer_state_file`].
    pub jobs: JobsConfig,
    /// `--jobs.state-dir`, where each customer's state file goes.
    pub state_dir: Option<PathBuf>,
    /// Which customers to watch.
    pub customers: Customers,
}

impl EmbeddedConfig {
    /// The `workspace` label of the customer with managed user id `id`:
    /// `partner/1234`.
    pub fn customer_label(&self, id: u64) -> String {
        format!("{}/{id}", self.name)
    }

    /// That customer's state file in `--jobs.state-dir`, when one is set.
    pub fn customer_state_file(&self, id: u64) -> Option<PathBuf> {
        let label = self.customer_label(id);
        self.state_dir.as_deref().map(|dir| state_file(dir, &label))
    }
}

/// The customers of an Embed admin workspace to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Customers {
    /// Every managed user, re-listed as they come and go.
    All,
    /// Only these, in the file's order, without repeats.
    Only(Vec<CustomerRef>),
}

/// One customer as the file names it: a YAML integer is a managed user id,
/// a string an external id (quote an external id made of digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerRef {
    Id(u64),
    External(String),
}

impl std::fmt::Display for CustomerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CustomerRef::Id(id) => write!(f, "managed user id {id}"),
            CustomerRef::External(id) => write!(f, "external id {id:?}"),
        }
    }
}

/// The state file of the workspace labelled `label` in `--jobs.state-dir`:
/// `DIR/<label>.json`, the label made file-safe one to one. Letters,
/// digits, `_`, `.` and `-` stay; any other byte (`:`, and the `/` of
/// Embedded customers) becomes `%` and two upper-case hex digits, so
/// `partner/123` is `partner%2F123.json`. No label holds `%`, so two labels
/// never share a file.
pub fn state_file(dir: &Path, label: &str) -> PathBuf {
    let mut file = String::with_capacity(label.len() + 5);
    for byte in label.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-') {
            file.push(char::from(byte));
        } else {
            file.push_str(&format!("%{byte:02X}"));
        }
    }
    file.push_str(".json");
    dir.join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_are_one_per_label_and_stay_in_the_directory() {
        let dir = Path::new("/var/lib/we");
        assert_eq!(state_file(dir, "prod"), dir.join("prod.json"));
        assert_eq!(state_file(dir, "partner/123"), dir.join("partner%2F123.json"));
        assert_eq!(state_file(dir, "a:b"), dir.join("a%3Ab.json"));
        assert_eq!(state_file(dir, ".."), dir.join("...json"));
        let labels = ["a/b", "a%2Fb", "a_b", "a.b", "a:b", "a-b", "ab"];
        let files: std::collections::BTreeSet<PathBuf> = labels.iter().map(|l| state_file(dir, l)).collect();
        assert_eq!(files.len(), labels.len());
        let embedded = EmbeddedConfig {
            name: "partner".into(),
            base_url: Url::parse("https://www.workato.com").unwrap(),
            auth: Auth::Bearer(SecretString::from("t")),
            requests_per_minute: NonZeroU32::MIN,
            poll_interval: Duration::from_secs(60),
            workspace_interval: Duration::from_secs(60),
            jobs_interval: Duration::from_secs(60),
            jobs: JobsConfig::default(),
            state_dir: Some(dir.to_path_buf()),
            customers: Customers::All,
        };
        assert_eq!(embedded.customer_label(1234), "partner/1234");
        assert_eq!(
            embedded.customer_state_file(1234),
            Some(dir.join("partner%2F1234.json"))
        );
        for label in labels {
            assert_eq!(state_file(dir, label).parent(), Some(dir), "{label}");
        }
    }
}
