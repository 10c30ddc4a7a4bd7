use std::process::ExitCode;

use clap::error::ErrorKind;
use workato_exporter::config::{self, ADMIN_TOKEN_ENV, Command, Config, TOKEN_ENV};
use workato_exporter::error::Error;

fn main() -> ExitCode {
    workato_exporter::tune_allocator();
    let cli = match config::parse_cli(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", config::one_line(&e));
            return ExitCode::from(2);
        }
    };
    let result = workato_exporter::init_tracing(&cli.args.log_level, &cli.args.log_format).and_then(|()| {
        let runtime =
            tokio::runtime::Runtime::new().map_err(|e| Error::Config(format!("cannot start the runtime: {e}")))?;
        let config = || {
            let env = |name| std::env::var(name).ok();
            Config::from_args_and_admin(&cli.args, env(TOKEN_ENV), env(ADMIN_TOKEN_ENV))
        };
        match &cli.command {
            Some(Command::Simulate(args)) => runtime.block_on(workato_exporter::simulate(args)).map(|()| true),
            Some(Command::Check) => runtime.block_on(workato_exporter::check(config()?)),
            Some(Command::Healthcheck) => Ok(runtime.block_on(workato_exporter::healthcheck(cli.args.listen_address))),
            None => runtime.block_on(workato_exporter::serve(config()?)).map(|()| true),
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error @ Error::Config(_)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
