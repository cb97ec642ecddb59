//! `kubectl-spice`: parse, run, print the one error line, return the contract's code.

use clap::Parser;
use kubectl_spice::exit::ExitStatus;
use std::process::ExitCode;

/// glibc gives each thread that allocates an arena of its own (up to 8 a
/// core); memory freed in one stays there. The runtime's workers, its
/// blocking threads and the list decoder thread each kept one: `watch` at
/// 2,000 pods and 500 nodes held 32.9 MiB with them, 28.2 MiB with one
/// (`MALLOC_ARENA_MAX=1`). Two arenas keep the workers from contending on
/// one lock. The same call as that variable, made before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn few_malloc_arenas() {
    // mallopt(3): M_ARENA_MAX is -8.
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only sets a glibc malloc parameter; it is called once,
    // before any other thread exists. Its result (1 set, 0 refused) needs
    // no handling: a refusal leaves glibc's default.
    unsafe {
        mallopt(-8, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn few_malloc_arenas() {}

fn main() -> ExitCode {
    few_malloc_arenas();
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
