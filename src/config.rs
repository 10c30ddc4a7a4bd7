//! Command line, environment and configuration file, turned into a
//! validated [`Config`].
//!
//! [`Cli`] is what clap parses (`cli`: raw text, flag names fixed by
//! DESIGN.md, each value checked as it is parsed); [`Config::load`] reads
//! the secrets and settles the defaults, once, so the rest of the program
//! holds typed values: a `Url`, `Duration`s, a `SocketAddr`, a secret
//! token. The flags describe one workspace (`workspace`); `--config.file`
//! describes many, and Embed admin workspaces (`raw` is the YAML as
//! parsed, `file` checks and merges it, and is called again on reload).
//! `secret` reads a token the one way, `sharding` settles `--shard.*`,
//! `region` holds Workato's data centers, `log` what the log flags accept.
//! Nothing here imports the rest of the crate but its error type and the
//! [`Shard`] the flags choose.

mod cli;
mod file;
mod log;
mod raw;
mod region;
mod secret;
mod sharding;
mod workspace;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub use cli::{Args, Cli, Command, DEFAULT_MAX_CONNECTIONS, SimulateArgs, one_line, parse_cli, parse_duration};
pub use file::{DEFAULT_REQUESTS_PER_MINUTE, FileConfig, MAX_FILE_BYTES, MAX_NAME_LEN, load_file};
pub use log::{LogFormat, parse_filter};
pub use region::Region;
pub use sharding::system_hostname;
pub use workspace::{Auth, CustomerRef, Customers, EmbeddedConfig, JobsConfig, WorkspaceConfig, state_file};

use crate::error::Error;
pub use crate::shard::Shard;
use secret::read_secret;

/// Environment variable holding the Workato API token itself.
pub const TOKEN_ENV: &str = "WORKATO_API_TOKEN";

/// Environment variable holding the admin API token itself.
pub const ADMIN_TOKEN_ENV: &str = "WORKATO_EXPORTER_ADMIN_TOKEN";

/// The demo's settings: `--demo.seed` is the seed of the `prod`
/// workspace, and the calm `dev` workspace beside it derives its own.
#[derive(Debug, Clone, Copy)]
pub struct Demo {
    pub seed: u64,
    pub speed: f64,
}

impl Demo {
    /// The label of the demo workspace that plays the scripted incidents,
    /// unless `--workato.workspace` names it.
    pub const PROD: &str = "prod";
    /// The label of the demo's smaller, calm workspace.
    pub const DEV: &str = "dev";
}

/// The admin route, when an admin token is configured.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub token: SecretString,
    pub read_only: bool,
    /// Its own listener; `None` shares the main one.
    pub listen_address: Option<SocketAddr>,
    /// Workato's part of an admin call (budget wait, the call, the state
    /// read again) ends here with 504.
    pub deadline: Duration,
    /// A request body not received within this is answered 408.
    pub body_timeout: Duration,
    /// `--admin.allow-plaintext`: serve it without TLS beyond loopback.
    pub allow_plaintext: bool,
}

impl AdminConfig {
    /// The default of [`AdminConfig::deadline`].
    pub const DEADLINE: Duration = Duration::from_secs(10);
    /// The default of [`AdminConfig::body_timeout`].
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
}

/// The exporter's validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Set in demo mode: each workspace's `base_url` is filled in when the
    /// simulated workspace starts.
    pub demo: Option<Demo>,
    /// The workspaces to watch: one from the flags, or those of the file.
    pub workspaces: Vec<WorkspaceConfig>,
    /// The Embed admin workspaces whose customers are watched (the file
    /// only).
    pub embedded: Vec<EmbeddedConfig>,
    /// `--config.file`, read again on reload with [`Config::reload`].
    pub config_file: Option<PathBuf>,
    /// `--jobs.state-dir`: one state file per workspace, [`state_file`].
    pub jobs_state_dir: Option<PathBuf>,
    /// `--web.enable-lifecycle`: `POST /-/reload` is served.
    pub enable_lifecycle: bool,
    /// `--shard.*`: this replica polls only the workspaces it owns.
    pub shard: Option<Shard>,
    /// `--workato.timeout`: one request to Workato, and `check` in all.
    pub timeout: Duration,
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    /// `--web.max-connections`, per listener.
    pub max_connections: usize,
    pub admin: Option<AdminConfig>,
    /// `--web.config.file`: TLS and basic auth for every listener.
    pub web_config_file: Option<std::path::PathBuf>,
}

impl Config {
    /// Validates the parsed flags and reads the secrets and the
    /// configuration file. `env` reads environment variables
    /// (`WORKATO_API_TOKEN`, `WORKATO_EXPORTER_ADMIN_TOKEN`, the variables
    /// the file's `token_env` names, `HOSTNAME`), passed in so tests need
    /// not touch the process environment; `main` passes `std::env::var`.
    pub fn load(args: &Args, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        Config::load_with_hostname(args, env, &system_hostname)
    }

    /// As [`Config::load`], with the system's host name given.
    pub fn load_with_hostname(
        args: &Args,
        env: &dyn Fn(&str) -> Option<String>,
        system_hostname: &dyn Fn() -> Option<String>,
    ) -> Result<Config, Error> {
        if args.jobs_state_file.is_some() && args.jobs_state_dir.is_some() {
            return Err(Error::Config(
                "--jobs.state-file and --jobs.state-dir: give one (the directory keeps one file per workspace)".into(),
            ));
        }
        let (workspaces, embedded) = match &args.config_file {
            Some(path) => {
                if args.demo {
                    return Err(Error::Config(
                        "--demo runs its own workspaces and cannot be used with --config.file".into(),
                    ));
                }
                if let Some(flag) = args.per_workspace_flags.first() {
                    return Err(Error::Config(format!(
                        "{flag} cannot be used with --config.file, which is the truth about every workspace; set it in the file (README: The configuration file)"
                    )));
                }
                let file = load_file(path, args.jobs_state_dir.as_deref(), env)?;
                (file.workspaces, file.embedded)
            }
            None if args.demo => (demo_workspaces(args)?, Vec::new()),
            None => (vec![workspace_from_flags(args, env(TOKEN_ENV))?], Vec::new()),
        };
        let tokens: Vec<&SecretString> = workspaces
            .iter()
            .map(|w| w.auth.token())
            .chain(embedded.iter().map(|e| e.auth.token()))
            .collect();
        let admin = admin(args, env(ADMIN_TOKEN_ENV), &tokens)?;
        let shard = sharding::shard(
            args.shard_count,
            args.shard_index,
            args.shard_index_from_hostname,
            env,
            system_hostname,
        )?;
        Ok(Config {
            demo: args.demo.then_some(Demo {
                seed: args.demo_seed,
                speed: args.demo_speed,
            }),
            workspaces,
            embedded,
            config_file: args.config_file.clone(),
            jobs_state_dir: args.jobs_state_dir.clone(),
            enable_lifecycle: args.enable_lifecycle,
            shard,
            timeout: args.timeout,
            listen_address: args.listen_address,
            telemetry_path: args.telemetry_path.clone(),
            max_connections: args.max_connections,
            admin,
            web_config_file: args.web_config_file.clone(),
        })
    }

    /// Validates the parsed flags. `env_token` is the value of
    /// `WORKATO_API_TOKEN`; `--workato.token-file` wins over the variable.
    /// Other variables (a file's `token_env`, `HOSTNAME`) are read from the
    /// process environment.
    pub fn from_args(args: &Args, env_token: Option<String>) -> Result<Config, Error> {
        Config::from_args_and_admin(args, env_token, None)
    }

    /// As [`Config::from_args`], with the value of
    /// `WORKATO_EXPORTER_ADMIN_TOKEN` too.
    pub fn from_args_and_admin(
        args: &Args,
        env_token: Option<String>,
        env_admin_token: Option<String>,
    ) -> Result<Config, Error> {
        let env = |name: &str| match name {
            TOKEN_ENV => env_token.clone(),
            ADMIN_TOKEN_ENV => env_admin_token.clone(),
            other => std::env::var(other).ok(),
        };
        Config::load(args, &env)
    }

    /// Reads `--config.file` again, as on SIGHUP or `POST /-/reload`, with
    /// the same `--jobs.state-dir`: what the file now says, or why it
    /// cannot be used (the running configuration should stay). `None`
    /// without a file: the flags cannot change while the process runs.
    pub fn reload(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<Result<FileConfig, Error>> {
        let path = self.config_file.as_deref()?;
        Some(load_file(path, self.jobs_state_dir.as_deref(), env).and_then(|file| {
            let admin = self.admin.as_ref().map(|a| a.token.expose_secret());
            let tokens = file.workspaces.iter().map(|w| w.auth.token());
            let tokens: Vec<&SecretString> = tokens.chain(file.embedded.iter().map(|e| e.auth.token())).collect();
            match admin {
                Some(admin) if tokens.iter().any(|t| t.expose_secret() == admin) => Err(admin_equals_workato()),
                _ => Ok(file),
            }
        }))
    }
}

/// The one workspace the flags describe.
fn workspace_from_flags(args: &Args, env_token: Option<String>) -> Result<WorkspaceConfig, Error> {
    workspace_named(args, args.workspace.trim(), read_token(args, env_token)?)
}

/// `--demo`'s two workspaces, both described by the flags: `prod` (or the
/// name `--workato.workspace` gives), which plays the scripted incidents,
/// and `dev`. Each simulated workspace accepts a token made up here; a
/// `--jobs.state-file` is prod's, `--jobs.state-dir` holds both.
fn demo_workspaces(args: &Args) -> Result<Vec<WorkspaceConfig>, Error> {
    let named = args
        .per_workspace_flags
        .iter()
        .any(|f| f.contains("--workato.workspace"));
    let prod = if named { args.workspace.trim() } else { Demo::PROD };
    if prod == Demo::DEV {
        return Err(Error::Config(format!(
            "--workato.workspace: {:?} is the name of the demo's other workspace; choose another",
            Demo::DEV
        )));
    }
    let made_up = || (0..32).map(|_| fastrand::alphanumeric()).collect::<String>();
    let prod = workspace_named(args, prod, made_up())?;
    let mut dev = workspace_named(args, Demo::DEV, made_up())?;
    if args.jobs_state_dir.is_none() {
        dev.jobs.state_file = None;
    }
    Ok(vec![prod, dev])
}

/// A workspace the flags describe, labelled `name`, with `token`.
fn workspace_named(args: &Args, name: &str, token: String) -> Result<WorkspaceConfig, Error> {
    let token = SecretString::from(token);
    let auth = match args.email.as_deref().map(str::trim) {
        Some(email) if !email.is_empty() => Auth::Legacy {
            email: email.to_string(),
            token,
        },
        _ => Auth::Bearer(token),
    };
    if name.is_empty() {
        return Err(Error::Config("--workato.workspace: expected a non-empty name".into()));
    }
    let (poll, workspace_poll) = if args.demo {
        (Duration::from_secs(10), Duration::from_secs(60))
    } else {
        (Duration::from_secs(60), Duration::from_secs(15 * 60))
    };
    let state_file = match &args.jobs_state_dir {
        Some(dir) => Some(state_file(dir, name)),
        None => args.jobs_state_file.clone(),
    };
    Ok(WorkspaceConfig {
        name: name.to_string(),
        base_url: args.base_url.clone().unwrap_or_else(|| args.region.base_url()),
        auth,
        requests_per_minute: args.requests_per_minute,
        poll_interval: args.poll_interval.unwrap_or(poll),
        workspace_interval: args.workspace_interval.unwrap_or(workspace_poll),
        jobs_interval: args.jobs_interval.unwrap_or(poll),
        jobs: JobsConfig {
            window: args.jobs_window,
            max_error_types: usize::from(args.jobs_max_error_types),
            state_file,
        },
    })
}

/// The admin route's settings, when an admin token is given; it must
/// differ from every Workato token.
fn admin(args: &Args, env_admin_token: Option<String>, tokens: &[&SecretString]) -> Result<Option<AdminConfig>, Error> {
    let Some(admin_token) = read_secret(
        args.admin_token_file.as_deref(),
        "--admin.token-file",
        env_admin_token,
        ADMIN_TOKEN_ENV,
    )?
    else {
        return Ok(None);
    };
    // A Workato token must never open the admin route.
    if tokens.iter().any(|token| token.expose_secret() == admin_token) {
        return Err(admin_equals_workato());
    }
    if admin_token.len() < 16 {
        return Err(Error::Config(format!(
            "the admin token ({ADMIN_TOKEN_ENV} or --admin.token-file) must be at least 16 characters; try `openssl rand -hex 32`"
        )));
    }
    Ok(Some(AdminConfig {
        token: SecretString::from(admin_token),
        read_only: args.admin_read_only,
        listen_address: args.admin_listen_address,
        deadline: AdminConfig::DEADLINE,
        body_timeout: AdminConfig::BODY_TIMEOUT,
        allow_plaintext: args.admin_allow_plaintext,
    }))
}

fn admin_equals_workato() -> Error {
    Error::Config(format!(
        "the admin token ({ADMIN_TOKEN_ENV} or --admin.token-file) must differ from every Workato API token"
    ))
}

/// The Workato token from `--workato.token-file` or `WORKATO_API_TOKEN`.
fn read_token(args: &Args, env_token: Option<String>) -> Result<String, Error> {
    read_secret(args.token_file.as_deref(), "--workato.token-file", env_token, TOKEN_ENV)?.ok_or_else(|| {
        Error::Config(format!(
            "no Workato API token: set {TOKEN_ENV} or --workato.token-file PATH (or try --demo)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::cli::args;
    use super::*;

    #[test]
    fn token_from_env_and_file_and_never_in_debug() {
        let config = Config::from_args(&args(&[]), Some("sekrit-token".into())).unwrap();
        assert!(matches!(config.workspaces[0].auth, Auth::Bearer(_)));
        assert!(!format!("{config:?}").contains("sekrit-token"));

        let dir = std::env::temp_dir().join(format!("we-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let file_arg = file.to_str().unwrap();
        let config = Config::from_args(&args(&["--workato.token-file", file_arg]), Some("env".into())).unwrap();
        match &config.workspaces[0].auth {
            Auth::Bearer(token) => assert_eq!(secrecy::ExposeSecret::expose_secret(token), "from-file"),
            other => panic!("expected bearer auth, got {other:?}"),
        }

        let legacy = Config::from_args(&args(&["--workato.email", "ops@example.com"]), Some("t".into())).unwrap();
        assert!(matches!(legacy.workspaces[0].auth, Auth::Legacy { ref email, .. } if email == "ops@example.com"));
    }

    #[test]
    fn missing_token_names_both_sources() {
        let error = Config::from_args(&args(&[]), None).unwrap_err().to_string();
        assert!(
            error.contains(TOKEN_ENV) && error.contains("--workato.token-file"),
            "{error}"
        );
        let error = Config::from_args(&args(&["--workato.token-file", "/nonexistent/token"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--workato.token-file") && error.contains("/nonexistent/token"),
            "{error}"
        );
    }
}
