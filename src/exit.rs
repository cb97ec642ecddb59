//! The exit-code contract (DESIGN.md "Contracts"): scripts depend on these.

/// How a run ended. kubectl on Windows turns every non-zero plugin exit into 1,
/// so the verdict is also carried in the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing failed (or the command has no verdict and printed what it should).
    Ok = 0,
    /// At least one check failed (or warned, with `--fail-on warn`).
    Findings = 1,
    /// The command could not run: usage, kubeconfig, API server unreachable, bad file.
    CouldNotRun = 2,
    /// Nothing failed, but a source that exists could not be read, so some
    /// checks could not run (the monitoring-plugin convention for UNKNOWN).
    /// A failure wins over this: `Findings` is returned when both apply.
    Incomplete = 3,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The verdict of a gate: a failure wins over a gap, a gap over a pass.
    pub fn verdict(failed: bool, incomplete: bool) -> ExitStatus {
        if failed {
            ExitStatus::Findings
        } else if incomplete {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Ok
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> std::process::ExitCode {
        std::process::ExitCode::from(status as u8)
    }
}
