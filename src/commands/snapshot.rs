//! `kubectl spice snapshot -o FILE`: one collect step saved as JSON, for
//! replay with `status --from` (and `diagnose --from`) during or after an incident.

use crate::cli::{GlobalArgs, SnapshotArgs};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::settings::{ConfigFile, Settings};
use crate::snapshot::{MAX_FILE_BYTES, Snapshot};
use std::io::{Read, Write};
use std::path::Path;

pub async fn run(
    global: &GlobalArgs,
    args: &SnapshotArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let (snapshot, _settings) =
        super::collect(global, crate::cluster::collect::Scope::Full).await?;
    let text = serde_json::to_string_pretty(&snapshot)
        .map_err(|e| Fatal::new(format!("cannot encode the snapshot: {e}"), ""))?;
    if args.output.as_os_str() == "-" {
        writeln!(out, "{text}")?;
    } else {
        std::fs::write(&args.output, format!("{text}\n")).map_err(|e| {
            Fatal::new(
                format!(
                    "cannot write {}: {}",
                    args.output.display(),
                    crate::error::io_reason(&e)
                ),
                "choose a writable path, or `-o -` for stdout",
            )
        })?;
        eprintln!(
            "saved snapshot of {} ({} gaps) to {}",
            crate::report::text::neutralise(snapshot.context.as_deref().unwrap_or("in-cluster")),
            snapshot.gaps.len(),
            args.output.display()
        );
    }
    Ok(ExitStatus::Ok)
}

const LOAD_HINT: &str = "save one with `kubectl spice snapshot -o FILE`";

/// Reads a saved snapshot (JSON or YAML, at most 64 MiB) for offline replay,
/// with the settings it is judged by. Errors never quote the file's content.
pub fn load(global: &GlobalArgs, path: &Path) -> Result<(Snapshot, Settings), Fatal> {
    let fail = |what: String| Fatal::new(format!("snapshot {}: {what}", path.display()), LOAD_HINT);
    let file = std::fs::File::open(path).map_err(|e| fail(crate::error::io_reason(&e)))?;
    let too_big = || {
        fail(format!(
            "larger than {} MiB, the most a snapshot may be",
            MAX_FILE_BYTES >> 20
        ))
    };
    if file
        .metadata()
        .is_ok_and(|m| m.len() > MAX_FILE_BYTES as u64)
    {
        return Err(too_big());
    }
    // The size is checked again while reading: a pipe or a growing file has no length.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(crate::error::io_reason(&e)))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut snapshot = crate::snapshot::parse_file(&bytes)
        .map_err(|e| fail(format!("not a kubectl-spice snapshot: {e}")))?;
    crate::cluster::prometheus::vet_snapshot(&mut snapshot);
    let config = ConfigFile::load(global.config.as_deref())?;
    let settings = Settings::resolve(
        global,
        &crate::process_env,
        &config,
        snapshot.context.as_deref(),
        Some(snapshot.namespace.as_str()),
    )?;
    Ok((snapshot, settings))
}
