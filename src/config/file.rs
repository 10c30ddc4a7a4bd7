//! `--config.file`: the YAML file listing the workspaces to watch, read at
//! start-up and again on every reload.
//!
//! The file is parsed into raw entries (`raw`, each value checked by the
//! parser the matching flag uses, so the rules are the same), then each
//! entry is merged over `defaults`, its token read and its name checked
//! against the others. Every error is one line,
//! `--config.file PATH:LINE:COLUMN: what`, naming the key; positions come
//! from the parser, and a duplicate name gives the first one's too.

use std::collections::HashMap;
use std::io::Read;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde_saphyr::{Location, Spanned};

use super::raw::{RawEntry, RawFile};
use super::region::Region;
use super::secret::read_secret;
use super::workspace::{Auth, Customers, EmbeddedConfig, JobsConfig, WorkspaceConfig, state_file};
use crate::error::Error;

/// The largest file read: thousands of workspaces fit in far less.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// `requests_per_minute` when neither the entry nor `defaults` sets it, as
/// the flag's default.
pub const DEFAULT_REQUESTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(50).expect("not zero");

/// The longest workspace name (the `workspace` label's value).
pub const MAX_NAME_LEN: usize = 128;

/// What a configuration file describes.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    /// The workspaces under `workspaces`, in the file's order.
    pub workspaces: Vec<WorkspaceConfig>,
    /// The Embed admin workspaces under `embedded`, in the file's order.
    pub embedded: Vec<EmbeddedConfig>,
}

/// Reads and validates the configuration file at `path`. `state_dir` is
/// `--jobs.state-dir`, which gives each workspace its state file; `env`
/// reads the environment variables that `token_env` names (a parameter, so
/// tests need not touch the process environment). A relative `token_file`
/// is relative to the file's directory.
pub fn load_file(
    path: &Path,
    state_dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileConfig, Error> {
    let text = read_text(path)?;
    let file = Source { path, env, state_dir };
    let options = serde_saphyr::options! { with_snippet: false };
    let raw: RawFile = serde_saphyr::from_str_with_options(&text, options).map_err(|error| {
        let message = error.to_string();
        match error.location() {
            Some(at) => {
                let suffix = format!(" at line {}, column {}", at.line(), at.column());
                file.error(at, message.strip_suffix(&suffix).unwrap_or(&message))
            }
            None => Error::Config(format!("--config.file {}: {message}", path.display())),
        }
    })?;
    file.resolve(raw)
}

fn read_text(path: &Path) -> Result<String, Error> {
    let cannot = |e: std::io::Error| Error::Config(format!("--config.file {}: cannot read: {e}", path.display()));
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Config(format!(
            "--config.file {}: larger than {} MiB",
            path.display(),
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(text)
}

/// The file being read, for errors and for what its entries point to.
struct Source<'a> {
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    state_dir: Option<&'a Path>,
}

/// An entry merged over the defaults, before it becomes a workspace or an
/// Embedded entry.
struct Entry {
    name: String,
    base_url: reqwest::Url,
    auth: Auth,
    requests_per_minute: NonZeroU32,
    poll_interval: Duration,
    workspace_interval: Duration,
    jobs_interval: Duration,
    jobs: JobsConfig,
}

impl Source<'_> {
    fn error(&self, at: Location, what: &str) -> Error {
        Error::Config(format!(
            "--config.file {}:{}:{}: {what}",
            self.path.display(),
            at.line(),
            at.column()
        ))
    }

    fn resolve(&self, raw: RawFile) -> Result<FileConfig, Error> {
        let defaults = raw.defaults.unwrap_or_default();
        if let Some(name) = &defaults.name {
            return Err(self.error(name.referenced, "defaults.name: each workspace has its own name"));
        }
        if let Some(customers) = &defaults.customers {
            return Err(self.error(
                customers.referenced,
                "defaults.customers: customers belong to an embedded entry",
            ));
        }
        let mut seen: HashMap<String, (String, Location)> = HashMap::new();
        let mut config = FileConfig::default();
        for (index, entry) in raw.workspaces.iter().enumerate() {
            let key = format!("workspaces[{index}]");
            if let Some(customers) = &entry.value.customers {
                return Err(self.error(
                    customers.referenced,
                    &format!("{key}.customers: only an embedded entry has customers"),
                ));
            }
            let entry = self.entry(&key, entry, &defaults, &mut seen)?;
            config.workspaces.push(WorkspaceConfig {
                jobs: JobsConfig {
                    state_file: self.state_dir.map(|dir| state_file(dir, &entry.name)),
                    ..entry.jobs
                },
                name: entry.name,
                base_url: entry.base_url,
                auth: entry.auth,
                requests_per_minute: entry.requests_per_minute,
                poll_interval: entry.poll_interval,
                workspace_interval: entry.workspace_interval,
                jobs_interval: entry.jobs_interval,
            });
        }
        for (index, raw_entry) in raw.embedded.iter().enumerate() {
            let key = format!("embedded[{index}]");
            let entry = self.entry(&key, raw_entry, &defaults, &mut seen)?;
            let customers = raw_entry
                .value
                .customers
                .as_ref()
                .map_or(Customers::All, |c| c.value.clone());
            config.embedded.push(EmbeddedConfig {
                name: entry.name,
                base_url: entry.base_url,
                auth: entry.auth,
                requests_per_minute: entry.requests_per_minute,
                poll_interval: entry.poll_interval,
                workspace_interval: entry.workspace_interval,
                jobs_interval: entry.jobs_interval,
                jobs: entry.jobs,
                state_dir: self.state_dir.map(Path::to_path_buf),
                customers,
            });
        }
        if config.workspaces.is_empty() && config.embedded.is_empty() {
            return Err(Error::Config(format!(
                "--config.file {}: names no workspace; list at least one under workspaces or embedded",
                self.path.display()
            )));
        }
        Ok(config)
    }

    /// One entry at `key` (`workspaces[3]`) merged over `defaults`, its
    /// name checked against those `seen` before it.
    fn entry(
        &self,
        key: &str,
        raw: &Spanned<RawEntry>,
        defaults: &RawEntry,
        seen: &mut HashMap<String, (String, Location)>,
    ) -> Result<Entry, Error> {
        let at = raw.referenced;
        let raw = &raw.value;
        let Some(name) = &raw.name else {
            return Err(self.error(at, &format!("{key}: missing key name")));
        };
        let name_at = name.referenced;
        let name = name.value.trim().to_string();
        check_name(&name).map_err(|what| self.error(name_at, &format!("{key}.name: {what}")))?;
        if let Some((first, first_at)) = seen.get(&name) {
            return Err(self.error(
                name_at,
                &format!(
                    "{key}.name: {name:?} is already the name of {first} at line {}, column {}",
                    first_at.line(),
                    first_at.column()
                ),
            ));
        }
        seen.insert(name.clone(), (key.to_string(), name_at));
        let key = format!("{key} ({name})");

        let base_url = match (&raw.region, &raw.base_url) {
            (Some(_), Some(url)) => {
                return Err(self.error(
                    url.referenced,
                    &format!("{key}.base_url: give region or base_url, not both"),
                ));
            }
            (Some(region), None) => region.value.base_url(),
            (None, Some(url)) => url.value.clone(),
            (None, None) => match (&defaults.region, &defaults.base_url) {
                (Some(_), Some(url)) => {
                    return Err(self.error(url.referenced, "defaults.base_url: give region or base_url, not both"));
                }
                (Some(region), None) => region.value.base_url(),
                (None, Some(url)) => url.value.clone(),
                (None, None) => Region::Us.base_url(),
            },
        };

        // As with region and base_url, an entry's token source replaces the
        // defaults' whole: its token_env is not overruled by their token_file.
        let tokens = if raw.token_file.is_some() || raw.token_env.is_some() {
            raw
        } else {
            defaults
        };
        let token_file = tokens.token_file.as_ref();
        let token_env = tokens.token_env.as_ref();
        let token_file = token_file.map(|file| self.relative(file));
        let token = read_secret(
            token_file.as_deref(),
            &format!("{key}.token_file"),
            token_env.and_then(|name| (self.env)(name)),
            &format!("{key}.token_env ({})", token_env.map_or("", String::as_str)),
        )
        .map_err(|e| self.error(at, &e.to_string()))?;
        let Some(token) = token else {
            let what = match token_env {
                Some(var) => format!("{key}: no token: the variable {var} that token_env names is unset or empty"),
                None => {
                    format!("{key}: no token: set token_file (a file holding it) or token_env (a variable holding it)")
                }
            };
            return Err(self.error(at, &what));
        };
        let token = SecretString::from(token);
        let email = raw.email.as_ref().or(defaults.email.as_ref()).map(|e| e.trim());
        let auth = match email {
            Some(email) if !email.is_empty() => Auth::Legacy {
                email: email.to_string(),
                token,
            },
            _ => Auth::Bearer(token),
        };

        let jobs = JobsConfig::default();
        Ok(Entry {
            name,
            base_url,
            auth,
            requests_per_minute: raw
                .requests_per_minute
                .or(defaults.requests_per_minute)
                .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE),
            poll_interval: raw
                .poll_interval
                .or(defaults.poll_interval)
                .unwrap_or(Duration::from_secs(60)),
            workspace_interval: raw
                .workspace_interval
                .or(defaults.workspace_interval)
                .unwrap_or(Duration::from_secs(15 * 60)),
            jobs_interval: raw
                .jobs_interval
                .or(defaults.jobs_interval)
                .unwrap_or(Duration::from_secs(60)),
            jobs: JobsConfig {
                window: raw.jobs_window.or(defaults.jobs_window).unwrap_or(jobs.window),
                max_error_types: raw
                    .jobs_max_error_types
                    .or(defaults.jobs_max_error_types)
                    .unwrap_or(jobs.max_error_types),
                state_file: None,
            },
        })
    }

    /// A path from the file, relative to the file's directory.
    fn relative(&self, path: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }
}

/// A workspace name: the `workspace` label, and a file name in
/// `--jobs.state-dir`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("expected 1 to {MAX_NAME_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(format!(
            "{name:?} holds {c:?}; a name is made of letters, digits, _ . : and -"
        ));
    }
    Ok(())
}
