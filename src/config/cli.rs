//! The command line as clap parses it: raw text checked flag by flag (flag
//! names fixed by DESIGN.md), before `Config` turns it into settings.
//! What each flag's value may be is in `parse`.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
/// The default of `--web.max-connections`, the serving leaf's default.
pub use http_server::DEFAULT_MAX_CONNECTIONS;
use reqwest::Url;

use super::log::{LogFormat, parse_filter};
use super::region::{Region, parse_region};

mod parse;

pub use parse::parse_duration;
pub(super) use parse::{parse_base_url, parse_budget, parse_interval, parse_window};
use parse::{parse_listen_address, parse_max_connections, parse_path, parse_rate, parse_speed, parse_timeout};

#[derive(Debug, Parser)]
#[command(
    name = "workato_exporter",
    disable_version_flag = true,
    about = "Prometheus exporter for the Workato integration platform",
    after_help = "The Workato token comes from the WORKATO_API_TOKEN environment variable or --workato.token-file."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub args: Args,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call each Workato endpoint group once with the configured credentials
    /// and print what the API client may and may not read.
    Check,
    /// Serve only the simulated Workato API (the demo workspace), for tests,
    /// benchmarks and dashboard development.
    Simulate(SimulateArgs),
    /// Ask a running exporter on --web.listen-address whether it serves
    /// (exit 0) or not (exit 1): a container HEALTHCHECK without shell tools.
    Healthcheck,
}

/// Flags of `workato_exporter simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated API on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9863", value_parser = parse_listen_address)]
    pub listen: SocketAddr,
    /// Seed of the simulated workspace; the same seed gives the same history.
    #[arg(long, value_name = "N", default_value = "1")]
    pub seed: u64,
    /// Recipes in the workspace (Workato allows at most 5,000).
    #[arg(long, value_name = "N", default_value = "40", value_parser = clap::value_parser!(u64).range(4..=5_000))]
    pub recipes: u64,
    /// Connections (at most 1,000).
    #[arg(long, value_name = "N", default_value = "12", value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub connections: u64,
    /// API platform endpoints (at most 500).
    #[arg(long, value_name = "N", default_value = "10", value_parser = clap::value_parser!(u64).range(1..=500))]
    pub endpoints: u64,
    /// Jobs a minute across the workspace, on average.
    #[arg(long = "jobs-per-minute", value_name = "RATE", default_value = "120", value_parser = parse_rate)]
    pub jobs_per_minute: f64,
    /// Simulated seconds per real second (e.g. 60 plays an hour a minute).
    #[arg(long, value_name = "FACTOR", default_value = "1", value_parser = parse_speed)]
    pub speed: f64,
    /// Requests a minute each endpoint group may make before 429 (Workato: 60).
    #[arg(long = "rate-limit", value_name = "N", default_value = "60", value_parser = parse_budget)]
    pub rate_limit: NonZeroU32,
    /// Accept only this API token (default: any non-empty Bearer token).
    #[arg(long, value_name = "TOKEN", env = "WORKATO_SIMULATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Leave out the scripted incidents.
    #[arg(long = "no-incidents")]
    pub no_incidents: bool,
    /// Serve an Embed admin workspace with this many customer workspaces
    /// (`/api/managed_users/...`); its quotas are Workato's Embedded ones,
    /// scaled by --rate-limit / 60.
    #[arg(long = "embedded-customers", value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub embedded_customers: Option<u64>,
    /// Recipes in each customer workspace (with --embedded-customers).
    #[arg(long = "customer-recipes", value_name = "N", default_value = "25", value_parser = clap::value_parser!(u64).range(4..=5_000))]
    pub customer_recipes: u64,
    /// Jobs a minute per customer workspace, on average over customers
    /// (most are quiet, a few busy).
    #[arg(long = "customer-jobs-per-minute", value_name = "RATE", default_value = "6", value_parser = parse_rate)]
    pub customer_jobs_per_minute: f64,
}

/// Flags shared by the exporter and its subcommands.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workato host root, e.g. https://www.workato.com (overrides --workato.region).
    #[arg(long = "workato.base-url", env = "WORKATO_BASE_URL", value_name = "URL", global = true, value_parser = parse_base_url)]
    pub base_url: Option<Url>,

    /// Workato data center.
    #[arg(long = "workato.region", env = "WORKATO_REGION", value_name = "REGION", default_value = "us", global = true, value_parser = parse_region)]
    pub region: Region,

    /// File holding the Workato API token (instead of WORKATO_API_TOKEN).
    #[arg(long = "workato.token-file", value_name = "PATH", global = true)]
    pub token_file: Option<PathBuf>,

    /// Email for legacy header auth (X-USER-EMAIL + X-USER-TOKEN); unset means Bearer auth.
    #[arg(
        long = "workato.email",
        env = "WORKATO_API_EMAIL",
        value_name = "EMAIL",
        global = true
    )]
    pub email: Option<String>,

    /// Name of the workspace, the `workspace` label on every series.
    #[arg(
        long = "workato.workspace",
        env = "WORKATO_WORKSPACE",
        value_name = "NAME",
        default_value = "default",
        global = true
    )]
    pub workspace: String,

    /// How long one request to Workato may take; `check` answers within it plus a second.
    #[arg(long = "workato.timeout", env = "WORKATO_TIMEOUT", value_name = "DURATION", default_value = "30s", global = true, value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Client-side budget of requests a minute for each Workato endpoint group (Workato allows 60; more only makes sense against `simulate`).
    #[arg(long = "workato.requests-per-minute", env = "WORKATO_REQUESTS_PER_MINUTE", value_name = "N", default_value = "50", global = true, value_parser = parse_budget)]
    pub requests_per_minute: NonZeroU32,

    /// Address to serve /metrics on (`:9862` means every interface).
    #[arg(long = "web.listen-address", env = "WORKATO_EXPORTER_LISTEN_ADDRESS", value_name = "ADDR", default_value = ":9862", global = true, value_parser = parse_listen_address)]
    pub listen_address: SocketAddr,

    /// Path of the metrics endpoint (not under /admin, nor /healthz, /readyz or /).
    #[arg(long = "web.telemetry-path", value_name = "PATH", default_value = "/metrics", global = true, value_parser = parse_path)]
    pub telemetry_path: String,

    /// Most connections open at once on each listener; more wait in the backlog until one closes.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS, global = true, value_parser = parse_max_connections)]
    pub max_connections: usize,

    /// How often recipes, connections and API platform are polled [default: 60s; 10s with --demo].
    #[arg(long = "poll.interval", env = "WORKATO_POLL_INTERVAL", value_name = "DURATION", global = true, value_parser = parse_interval)]
    pub poll_interval: Option<Duration>,

    /// How often workspace details (users/me) are polled [default: 15m; 1m with --demo].
    #[arg(long = "poll.workspace-interval", value_name = "DURATION", global = true, value_parser = parse_interval)]
    pub workspace_interval: Option<Duration>,

    /// How often pending jobs are re-checked; jobs are also read right after each recipes sweep [default: 60s; 10s with --demo].
    #[arg(long = "jobs.interval", value_name = "DURATION", global = true, value_parser = parse_interval)]
    pub jobs_interval: Option<Duration>,

    /// Window of workato_recipe_job_failure_ratio.
    #[arg(long = "jobs.window", value_name = "DURATION", default_value = "1h", global = true, value_parser = parse_window)]
    pub jobs_window: Duration,

    /// File keeping job watermarks across restarts (unset: a restart starts fresh).
    #[arg(long = "jobs.state-file", value_name = "PATH", global = true)]
    pub jobs_state_file: Option<PathBuf>,

    /// Directory keeping one state file per workspace, DIR/<workspace>.json (instead of --jobs.state-file).
    #[arg(
        long = "jobs.state-dir",
        env = "WORKATO_EXPORTER_JOBS_STATE_DIR",
        value_name = "DIR",
        global = true
    )]
    pub jobs_state_dir: Option<PathBuf>,

    /// Distinct (adapter, error_type) pairs per recipe in workato_job_errors_total; the rest count as other.
    #[arg(long = "jobs.max-error-types", value_name = "N", default_value = "10", global = true, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub jobs_max_error_types: u16,

    /// File holding the admin API token (instead of WORKATO_EXPORTER_ADMIN_TOKEN); unset: admin API disabled.
    #[arg(long = "admin.token-file", value_name = "PATH", global = true)]
    pub admin_token_file: Option<PathBuf>,

    /// Serve /admin on its own address (loopback recommended) instead of the main listener.
    #[arg(long = "admin.listen-address", value_name = "ADDR", global = true, value_parser = parse_listen_address)]
    pub admin_listen_address: Option<SocketAddr>,

    /// Refuse admin writes (start, stop, enable, disable, upsert) with 403.
    #[arg(long = "admin.read-only", global = true)]
    pub admin_read_only: bool,

    /// Prometheus exporter-toolkit web configuration (TLS, mutual TLS, basic auth) for every listener.
    #[arg(
        long = "web.config.file",
        env = "WORKATO_EXPORTER_WEB_CONFIG_FILE",
        value_name = "PATH",
        global = true
    )]
    pub web_config_file: Option<PathBuf>,

    /// YAML file listing the workspaces to watch; the per-workspace flags are then refused (README: Many workspaces).
    #[arg(
        long = "config.file",
        env = "WORKATO_EXPORTER_CONFIG_FILE",
        value_name = "PATH",
        global = true
    )]
    pub config_file: Option<PathBuf>,

    /// Accept POST /-/reload (re-reads --config.file), as Prometheus does.
    #[arg(long = "web.enable-lifecycle", env = "WORKATO_EXPORTER_WEB_ENABLE_LIFECYCLE", global = true, value_parser = BoolishValueParser::new())]
    pub enable_lifecycle: bool,

    /// Replicas sharing the workspaces; each polls those that rendezvous hashing of the workspace label gives it.
    #[arg(long = "shard.count", env = "WORKATO_EXPORTER_SHARD_COUNT", value_name = "N", global = true, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shard_count: Option<u32>,

    /// This replica's index, from 0 to --shard.count - 1.
    #[arg(
        long = "shard.index",
        env = "WORKATO_EXPORTER_SHARD_INDEX",
        value_name = "I",
        global = true
    )]
    pub shard_index: Option<u32>,

    /// Take the index from the trailing -I of the host name, as a StatefulSet's pod workato-exporter-2 has.
    #[arg(long = "shard.index-from-hostname", env = "WORKATO_EXPORTER_SHARD_INDEX_FROM_HOSTNAME", global = true, value_parser = BoolishValueParser::new())]
    pub shard_index_from_hostname: bool,

    /// The per-workspace flags given on the command line or by their
    /// environment twin (`--poll.interval`, or `WORKATO_POLL_INTERVAL
    /// (--poll.interval)`), which a `--config.file` refuses. Filled by
    /// [`parse_cli`].
    #[arg(skip)]
    pub per_workspace_flags: Vec<String>,

    /// Serve /admin without TLS on a non-loopback address (refused by default).
    #[arg(long = "admin.allow-plaintext", global = true)]
    pub admin_allow_plaintext: bool,
    /// Run against two built-in simulated workspaces, prod and dev: no Workato account needed.
    #[arg(long = "demo")]
    pub demo: bool,

    /// Seed of the demo's prod workspace (dev's is N + 1); the same seed gives the same history.
    #[arg(long = "demo.seed", value_name = "N", default_value = "1")]
    pub demo_seed: u64,

    /// Simulated seconds per real second in the demo (10 plays the two-hour incident cycle in 12 minutes).
    #[arg(long = "demo.speed", value_name = "FACTOR", default_value = "1", value_parser = parse_speed)]
    pub demo_speed: f64,

    /// Log level (error, warn, info, debug, trace) or a tracing filter such as workato_exporter=debug,info (RUST_LOG wins when set).
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info", global = true, value_parser = parse_filter)]
    pub log_level: String,

    /// Print version, git revision, build date, rustc version and target, then exit.
    #[arg(short = 'V', long = "version", global = true)]
    pub version: bool,

    /// Log format: text, logfmt or json.
    #[arg(long = "log.format", value_name = "FORMAT", default_value = "text", global = true, value_parser = LogFormat::parse)]
    pub log_format: LogFormat,
}

/// Parses the command line, reducing any usage error to the one line that
/// names the flag and what it accepts. Help and version pass through.
pub fn parse_cli<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let command = Cli::command();
    let matches = command.clone().try_get_matches_from(argv)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command.clone()))?;
    cli.args.per_workspace_flags = per_workspace_flags(&command, &matches);
    Ok(cli)
}

/// The ids of the flags that describe one workspace, which `--config.file`
/// replaces: every `--workato.*` but `--workato.timeout`, `--poll.*` and
/// the per-workspace `--jobs.*`.
const PER_WORKSPACE: [&str; 12] = [
    "base_url",
    "region",
    "token_file",
    "email",
    "workspace",
    "requests_per_minute",
    "poll_interval",
    "workspace_interval",
    "jobs_interval",
    "jobs_window",
    "jobs_max_error_types",
    "jobs_state_file",
];

/// The per-workspace flags given on the command line or by their
/// environment twin, not by default, at the top or in the subcommand
/// (the flags are global).
fn per_workspace_flags(command: &clap::Command, matches: &ArgMatches) -> Vec<String> {
    let levels = std::iter::once(matches).chain(matches.subcommand().map(|(_, sub)| sub));
    let mut given = Vec::new();
    for id in PER_WORKSPACE {
        let Some(arg) = command.get_arguments().find(|a| a.get_id() == id) else {
            continue;
        };
        let flag = format!("--{}", arg.get_long().unwrap_or(id));
        let source = levels.clone().filter_map(|m| m.value_source(id)).max();
        match source {
            Some(ValueSource::CommandLine) => given.push(flag),
            Some(ValueSource::EnvVariable) => {
                let env = arg
                    .get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default();
                given.push(format!("{env} ({flag})"));
            }
            _ => {}
        }
    }
    given
}

/// The first line of a clap error, without colour codes, e.g.
/// `error: invalid value 'xx' for '--workato.region <REGION>': expected one of us, eu, ...`.
pub fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let line = rendered.lines().next().unwrap_or("error: invalid command line");
    line.trim_end().to_string()
}

/// The arguments of a valid command line made of `extra` (tests).
#[cfg(test)]
pub(super) fn args(extra: &[&str]) -> Args {
    let mut argv = vec!["workato_exporter"];
    argv.extend_from_slice(extra);
    parse_cli(argv).expect("valid command line").args
}

#[cfg(test)]
mod tests;
