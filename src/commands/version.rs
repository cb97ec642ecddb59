//! `kubectl spice version` (and `--version`): the version, the git commit it
//! was built from and the Kubernetes API version it was built against, all
//! recorded at build time by `src/build.rs`.

use crate::cli::{VersionArgs, VersionFormat};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use serde::Serialize;
use std::io::Write;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Short git commit, or "unknown" when built outside a git checkout.
pub const GIT_COMMIT: &str = env!("SPICE_GIT_COMMIT");
/// The Kubernetes API version k8s-openapi was built for (its `v1_*` feature).
pub const KUBE_API: &str = env!("SPICE_KUBE_API");
/// `os/arch` as kubectl and krew name platforms.
pub const PLATFORM: &str = env!("SPICE_PLATFORM");
/// The Rust target triple (tells a static musl build from a glibc one).
pub const TARGET: &str = env!("SPICE_TARGET");

/// What `--version` prints after "kubectl spice " (clap's `long_version`);
/// `kubectl spice version` prints the same lines.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ngit commit: ",
    env!("SPICE_GIT_COMMIT"),
    "\nkube API:   ",
    env!("SPICE_KUBE_API"),
    "\nplatform:   ",
    env!("SPICE_PLATFORM"),
    " (",
    env!("SPICE_TARGET"),
    ")"
);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    api_version: &'static str,
    kind: &'static str,
    version: &'static str,
    git_commit: &'static str,
    kube_api_version: &'static str,
    platform: &'static str,
    target: &'static str,
}

pub fn run(args: &VersionArgs, out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    let info = Version {
        api_version: crate::snapshot::API_VERSION,
        kind: "Version",
        version: VERSION,
        git_commit: GIT_COMMIT,
        kube_api_version: KUBE_API,
        platform: PLATFORM,
        target: TARGET,
    };
    match args.output {
        None => writeln!(out, "kubectl spice {LONG}")?,
        Some(VersionFormat::Json) => {
            crate::report::write_data(out, &info, crate::cli::Output::Json)?
        }
        Some(VersionFormat::Yaml) => {
            crate::report::write_data(out, &info, crate::cli::Output::Yaml)?
        }
    }
    Ok(ExitStatus::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_api_is_the_k8s_openapi_feature() {
        let manifest = include_str!("../../Cargo.toml");
        let line = manifest
            .lines()
            .find(|l| l.starts_with("k8s-openapi"))
            .expect("Cargo.toml depends on k8s-openapi");
        let feature = line
            .split('"')
            .find(|part| part.starts_with("v1_"))
            .expect("k8s-openapi has a v1_* feature");
        assert_eq!(KUBE_API, feature.trim_start_matches('v').replace('_', "."));
    }

    #[test]
    fn commit_is_hex_or_unknown() {
        assert!(
            GIT_COMMIT == "unknown" || GIT_COMMIT.bytes().all(|b| b.is_ascii_hexdigit()),
            "{GIT_COMMIT}"
        );
    }
}
