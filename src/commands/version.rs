use crate::error::Fatal;
use crate::exit::ExitStatus;
use std::io::Write;

pub fn run(out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    writeln!(out, "kubectl-spice {}", env!("CARGO_PKG_VERSION"))?;
    Ok(ExitStatus::Ok)
}
