use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use workato_exporter::config::{self, Cli, Command, Config};
use workato_exporter::error::Error;
use workato_exporter::logging;

fn main() -> ExitCode {
    workato_exporter::tune_allocator();
    // Until logging is set up no signal handler is installed, so SIGTERM
    // ends a write that blocks; writes may fail, never panic.
    let cli = match config::parse_cli(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if e.kind() == ErrorKind::DisplayHelp => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{}", config::one_line(&e));
            return ExitCode::from(2);
        }
    };
    if cli.args.version {
        let _ = std::io::stdout().write_all(workato_exporter::version::text().as_bytes());
        return ExitCode::SUCCESS;
    }
    let logs = match logging::init(&cli.args.log_level, cli.args.log_format) {
        Ok(logs) => logs,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error}");
            return ExitCode::from(2);
        }
    };
    let code = match run(&cli) {
        Ok(all_well) => u8::from(!all_well),
        Err(error) => {
            logs.fatal(&error);
            if matches!(error, Error::Config(_)) { 2 } else { 1 }
        }
    };
    logs.flush();
    ExitCode::from(code)
}

fn run(cli: &Cli) -> Result<bool, Error> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| Error::Config(format!("cannot start the runtime: {e}")))?;
    let config = || Config::load(&cli.args, &|name| std::env::var(name).ok());
    let result = match &cli.command {
        Some(Command::Simulate(args)) => runtime.block_on(workato_exporter::simulate(args)).map(|()| true),
        Some(Command::Check) => config().and_then(|config| runtime.block_on(workato_exporter::check(config))),
        Some(Command::Healthcheck) => Ok(runtime.block_on(workato_exporter::healthcheck(
            cli.args.listen_address,
            cli.args.web_config_file.as_deref(),
        ))),
        None => config().and_then(|config| runtime.block_on(workato_exporter::serve(config)).map(|()| true)),
    };
    // Tasks still running are dropped; this bounds the wait for blocking ones.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}
