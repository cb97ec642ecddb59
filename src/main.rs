//! `kubectl-spice`: parse, run, print the one error line, exit with the contract's code.

use clap::Parser;

fn main() {
    // Shell and kubectl completion requests answer before normal parsing.
    if let Some(code) = kubectl_spice::commands::completion::intercept() {
        std::process::exit(code);
    }
    let cli = match kubectl_spice::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; usage mistakes exit 2.
            let code = if e.use_stderr() {
                kubectl_spice::exit::ExitStatus::CouldNotRun.code()
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let status = kubectl_spice::run(cli);
    std::process::exit(status.code());
}
