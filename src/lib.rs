//! kubectl-spice: the spice-runner on-call runbook as a kubectl plugin.
//!
//! Data flow: `cli` → `settings` → `cluster::collect` (all network I/O, one
//! concurrent step) → `domain::snapshot::Snapshot` → pure reports → renderers.

pub mod checks;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod domain;
pub mod error;
pub mod exit;
pub mod history;
pub mod keda_log;
pub mod loadtest;
pub mod report;
pub mod settings;
/// The Snapshot's old path, kept while other branches still import it.
pub use domain::snapshot;
pub mod watch;

use cli::{Cli, Command};
use exit::ExitStatus;

/// The process environment, read through one function so tests can replace it.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Runs a parsed command line and returns the exit status. Prints results to
/// stdout and the one error line (with its hint) to stderr.
pub fn run(cli: Cli) -> ExitStatus {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let fatal = error::Fatal::new(format!("cannot start: {}", error::io_reason(&e)), "");
            fatal.print();
            return fatal.exit_status();
        }
    };
    // One crypto provider for every TLS client (kube and reqwest both use rustls).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Every command writes stdout through the one neutralising writer, so no
    // renderer can let a control character from the cluster through.
    let stdout = std::io::stdout();
    let mut out = report::text::SafeWriter::new(stdout.lock());
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Status(args) => commands::status::run(&cli.global, args, &mut out).await,
            Command::Diagnose(args) => commands::diagnose::run(&cli.global, args, &mut out).await,
            Command::Watch(args) => commands::watch::run(&cli.global, args, &mut out).await,
            Command::Explain(args) => commands::explain::run(args, &mut out),
            Command::Snapshot(args) => commands::snapshot::run(&cli.global, args, &mut out).await,
            Command::Config(args) => commands::config::run(&cli.global, args, &mut out).await,
            Command::Version(args) => commands::version::run(args, &mut out),
            Command::Alerts(args) => commands::alerts::run(&cli.global, args, &mut out).await,
            Command::Test(args) => commands::test::run(&cli.global, args, &mut out).await,
            Command::Dashboard => commands::dashboard::run(&cli.global, &mut out).await,
            Command::Completion(args) => commands::completion::run(args.shell, &mut out),
            Command::Man => commands::man::run(&mut out),
            Command::Report(args) => commands::report::run(&cli.global, args, &mut out).await,
            Command::Timeline(args) => commands::timeline::run(&cli.global, args, &mut out).await,
        }
    });
    // Do not wait for slow background reads (e.g. a hung exec plugin).
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(status) => status,
        Err(fatal) => {
            fatal.print();
            fatal.exit_status()
        }
    }
}
