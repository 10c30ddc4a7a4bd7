//! Command line and environment, turned into a validated [`Config`].
//!
//! [`Cli`] is what clap parses (`cli`: raw text, flag names fixed by
//! DESIGN.md, each value checked as it is parsed); [`Config::from_args`]
//! reads the secrets and settles the defaults, once, so the rest of the
//! program holds typed values: a `Url`, `Duration`s, a `SocketAddr`, a
//! secret token. `region` holds Workato's data centers, `log` what the
//! log flags accept. Nothing here imports the rest of the crate but its
//! error type.

mod cli;
mod log;
mod region;
mod workspace;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;

pub use cli::{Args, Cli, Command, DEFAULT_MAX_CONNECTIONS, SimulateArgs, one_line, parse_cli, parse_duration};
pub use log::{LogFormat, parse_filter};
pub use region::Region;
pub use workspace::{Auth, JobsConfig, WorkspaceConfig};

use crate::error::Error;

/// Environment variable holding the Workato API token itself.
pub const TOKEN_ENV: &str = "WORKATO_API_TOKEN";

/// Environment variable holding the admin API token itself.
pub const ADMIN_TOKEN_ENV: &str = "WORKATO_EXPORTER_ADMIN_TOKEN";

/// The demo workspace's settings.
#[derive(Debug, Clone, Copy)]
pub struct Demo {
    pub seed: u64,
    pub speed: f64,
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
    /// The workspaces to watch: one from the flags.
    pub workspaces: Vec<WorkspaceConfig>,
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
    /// Validates the parsed flags. `env_token` is the value of
    /// `WORKATO_API_TOKEN`, passed in so tests need not touch the process
    /// environment. `--workato.token-file` wins over the variable.
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
        // The demo's simulated workspace accepts a token made up here.
        let token = if args.demo {
            (0..32).map(|_| fastrand::alphanumeric()).collect()
        } else {
            read_token(args, env_token)?
        };
        let admin = read_secret(
            args.admin_token_file.as_deref(),
            "--admin.token-file",
            env_admin_token,
            ADMIN_TOKEN_ENV,
        )?
        .map(|admin_token| {
            // The Workato token must never open the admin route.
            if admin_token == token {
                return Err(Error::Config(format!(
                    "the admin token ({ADMIN_TOKEN_ENV} or --admin.token-file) must differ from the Workato API token"
                )));
            }
            if admin_token.len() < 16 {
                return Err(Error::Config(format!(
                    "the admin token ({ADMIN_TOKEN_ENV} or --admin.token-file) must be at least 16 characters; try `openssl rand -hex 32`"
                )));
            }
            Ok(AdminConfig {
                token: SecretString::from(admin_token),
                read_only: args.admin_read_only,
                listen_address: args.admin_listen_address,
                deadline: AdminConfig::DEADLINE,
                body_timeout: AdminConfig::BODY_TIMEOUT,
                allow_plaintext: args.admin_allow_plaintext,
            })
        })
        .transpose()?;
        let token = SecretString::from(token);
        let auth = match args.email.as_deref().map(str::trim) {
            Some(email) if !email.is_empty() => Auth::Legacy {
                email: email.to_string(),
                token,
            },
            _ => Auth::Bearer(token),
        };
        if args.workspace.trim().is_empty() {
            return Err(Error::Config("--workato.workspace: expected a non-empty name".into()));
        }
        let demo = args.demo.then_some(Demo {
            seed: args.demo_seed,
            speed: args.demo_speed,
        });
        let (poll, workspace_poll) = if args.demo {
            (Duration::from_secs(10), Duration::from_secs(60))
        } else {
            (Duration::from_secs(60), Duration::from_secs(15 * 60))
        };
        let workspace = WorkspaceConfig {
            name: args.workspace.trim().to_string(),
            base_url: args.base_url.clone().unwrap_or_else(|| args.region.base_url()),
            auth,
            requests_per_minute: args.requests_per_minute,
            poll_interval: args.poll_interval.unwrap_or(poll),
            workspace_interval: args.workspace_interval.unwrap_or(workspace_poll),
            jobs_interval: args.jobs_interval.unwrap_or(poll),
            jobs: JobsConfig {
                window: args.jobs_window,
                max_error_types: usize::from(args.jobs_max_error_types),
                state_file: args.jobs_state_file.clone(),
            },
        };
        Ok(Config {
            demo,
            workspaces: vec![workspace],
            timeout: args.timeout,
            listen_address: args.listen_address,
            telemetry_path: args.telemetry_path.clone(),
            max_connections: args.max_connections,
            admin,
            web_config_file: args.web_config_file.clone(),
        })
    }
}

/// The Workato token from `--workato.token-file` or `WORKATO_API_TOKEN`.
fn read_token(args: &Args, env_token: Option<String>) -> Result<String, Error> {
    read_secret(args.token_file.as_deref(), "--workato.token-file", env_token, TOKEN_ENV)?.ok_or_else(|| {
        Error::Config(format!(
            "no Workato API token: set {TOKEN_ENV} or --workato.token-file PATH (or try --demo)"
        ))
    })
}

/// A secret from a file flag (which wins) or an environment variable;
/// `None` when neither is set. The file must not be empty and the secret
/// must not hold whitespace.
fn read_secret(file: Option<&Path>, flag: &str, env: Option<String>, env_name: &str) -> Result<Option<String>, Error> {
    let (secret, source) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("{flag}: cannot read {}: {e}", path.display())))?;
            let secret = text.trim().to_string();
            if secret.is_empty() {
                return Err(Error::Config(format!(
                    "{flag}: {} is empty; it must hold the token",
                    path.display()
                )));
            }
            (secret, flag)
        }
        None => match env.map(|t| t.trim().to_string()) {
            Some(secret) if !secret.is_empty() => (secret, env_name),
            _ => return Ok(None),
        },
    };
    if secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::Config(format!(
            "the token from {source} contains whitespace or control characters"
        )));
    }
    Ok(Some(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["workato_exporter"];
        argv.extend_from_slice(extra);
        parse_cli(argv).expect("valid command line").args
    }

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
