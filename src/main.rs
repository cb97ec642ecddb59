//! `kubectl-spice`: parse, run, print the one error line, return the contract's code.

use clap::Parser;
use kubectl_spice::exit::ExitStatus;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Shell and kubectl completion requests answer before normal parsing.
    if let Some(code) = kubectl_spice::commands::completion::intercept() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = match kubectl_spice::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; usage mistakes exit 2.
            let status = if e.use_stderr() {
                ExitStatus::CouldNotRun
            } else {
                ExitStatus::Ok
            };
            let _ = e.print();
            return status.into();
        }
    };
    kubectl_spice::run(cli).into()
}
