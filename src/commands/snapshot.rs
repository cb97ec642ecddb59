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
    let to_file = args.output.as_os_str() != "-";
    // Said before the cluster is read, so nobody waits for a refusal.
    if to_file && !args.force {
        refuse_existing(&args.output)?;
    }
    if let Some(period) = &args.history {
        super::report::period_arg("history", period)?;
    }
    let (mut snapshot, settings) =
        super::collect(global, crate::cluster::collect::Scope::Full).await?;
    if let Some(period) = &args.history {
        super::report::add_history(global, &settings, &mut snapshot, period).await?;
    }
    let text = serde_json::to_string_pretty(&snapshot)
        .map_err(|e| Fatal::new(format!("cannot encode the snapshot: {e}"), ""))?;
    if !to_file {
        writeln!(out, "{text}")?;
    } else {
        save(&args.output, format!("{text}\n").as_bytes(), args.force)?;
        eprintln!(
            "saved snapshot of {} ({} {}) to {}",
            crate::report::text::neutralise(snapshot.context.as_deref().unwrap_or("in-cluster")),
            snapshot.gaps.len(),
            if snapshot.gaps.len() == 1 {
                "gap"
            } else {
                "gaps"
            },
            args.output.display()
        );
    }
    Ok(ExitStatus::Ok)
}

const EXISTS_HINT: &str = "pass --force to replace it, or choose another file";

/// Refuses a path that exists as anything, a symlink included (dangling or
/// not): a snapshot holds Event messages and operator log lines, and is
/// never written over a file or through a link by accident.
fn refuse_existing(path: &Path) -> Result<(), Fatal> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Err(Fatal::new(
            format!(
                "{} exists{}",
                path.display(),
                if meta.file_type().is_symlink() {
                    " (a symbolic link)"
                } else {
                    ""
                }
            ),
            EXISTS_HINT,
        )),
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` to a new file beside `path` (created 0600 with O_EXCL,
/// so never through a symlink), then moves it into place: with `force` by
/// rename (which replaces a file or a link itself, never a link's target),
/// without by a hard link, which fails if the path has appeared meanwhile.
fn save(path: &Path, bytes: &[u8], force: bool) -> Result<(), Fatal> {
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e: &std::io::Error| {
        Fatal::new(
            format!(
                "cannot write {}: {}",
                path.display(),
                crate::error::io_reason(e)
            ),
            "choose a writable path, or `-o -` for stdout",
        )
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(
        || std::ffi::OsString::from("snapshot"),
        |n| n.to_os_string(),
    );
    let mut file = None;
    let mut temp = dir.to_path_buf();
    for attempt in 0..100u32 {
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(&name);
        temp_name.push(format!(".{}.{attempt}.tmp", std::process::id()));
        temp = dir.join(temp_name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
        {
            Ok(f) => {
                file = Some(f);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(cannot(&e)),
        }
    }
    let Some(mut file) = file else {
        return Err(cannot(&std::io::Error::from(
            std::io::ErrorKind::AlreadyExists,
        )));
    };
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    let placed = written.and_then(|()| {
        if force {
            return std::fs::rename(&temp, path);
        }
        match std::fs::hard_link(&temp, path) {
            // A file system without hard links (FAT, some FUSE mounts):
            // rename, when the path is still free a moment before.
            Err(e)
                if e.kind() != std::io::ErrorKind::AlreadyExists
                    && std::fs::symlink_metadata(path)
                        .is_err_and(|m| m.kind() == std::io::ErrorKind::NotFound) =>
            {
                std::fs::rename(&temp, path)
            }
            other => other,
        }
    });
    let _ = std::fs::remove_file(&temp).or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(e),
    });
    match placed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(refuse_existing(path).err().unwrap_or_else(|| cannot(&e)))
        }
        Err(e) => Err(cannot(&e)),
    }
}

const LOAD_HINT: &str = "save one with `kubectl spice snapshot -o FILE`";

/// Reads a saved snapshot (JSON or YAML, at most 64 MiB) for offline replay,
/// with the settings it is judged by. Errors never quote the file's content.
/// The example snapshots shipped inside the binary, by name: `kubectl
/// spice diagnose --example NAME` works from any directory, without a cluster.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "broken-chain",
        include_str!("../../tests/scenarios/examples/broken-chain.snapshot.json"),
    ),
    (
        "healthy",
        include_str!("../../tests/scenarios/examples/healthy.snapshot.json"),
    ),
];

/// A shipped example (see [`EXAMPLES`]) with the settings, as [`load`] reads a file.
pub fn load_example(global: &GlobalArgs, name: &str) -> Result<(Snapshot, Settings), Fatal> {
    let names = || EXAMPLES.iter().map(|e| e.0).collect::<Vec<_>>().join(", ");
    let Some((_, text)) = EXAMPLES.iter().find(|e| e.0 == name) else {
        return Err(Fatal::new(
            format!(
                "--example {}: no such example",
                crate::report::text::neutralise(name)
            ),
            format!("the examples are: {}", names()),
        ));
    };
    let snapshot = crate::snapshot::parse_file(text.as_bytes()).map_err(|e| {
        Fatal::new(
            format!("example {name}: not a kubectl-spice snapshot: {e}"),
            "",
        )
    })?;
    with_settings(global, snapshot)
}

/// A parsed snapshot, vetted, with the settings resolved for its context
/// and namespace (flags, environment and config file still apply).
fn with_settings(
    global: &GlobalArgs,
    mut snapshot: Snapshot,
) -> Result<(Snapshot, Settings), Fatal> {
    crate::cluster::prometheus::vet_snapshot(&mut snapshot);
    let config = ConfigFile::load(global.config.as_deref())?;
    let mut settings = Settings::resolve(
        &global.overrides(),
        &crate::process_env,
        &config,
        snapshot.context.as_deref(),
        Some(snapshot.namespace.as_str()),
    )?;
    super::follow_scale_target(&mut settings, &snapshot);
    Ok((snapshot, settings))
}

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
    let snapshot = crate::snapshot::parse_file(&bytes)
        .map_err(|e| fail(format!("not a kubectl-spice snapshot: {e}")))?;
    with_settings(global, snapshot)
}
