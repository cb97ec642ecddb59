//! Build script (kept under `src/` because the top level holds only the
//! project's listed files). It records what `kubectl spice version` prints:
//! the git commit, the Kubernetes API version k8s-openapi was built for, and
//! the platform. It must never fail the build: whatever it cannot learn is
//! "unknown" (a source tarball has no `.git`, a machine may have no `git`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rerun-if-changed=src/build.rs");
    // Lets a packager who builds outside a git checkout still name the commit.
    println!("cargo::rerun-if-env-changed=SPICE_GIT_COMMIT");

    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let commit = std::env::var("SPICE_GIT_COMMIT")
        .ok()
        .filter(|c| is_commit_like(c))
        .or_else(|| git_commit(&manifest_dir))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo::rustc-env=SPICE_GIT_COMMIT={commit}");
    println!("cargo::rustc-env=SPICE_KUBE_API={}", kube_api_version());
    println!("cargo::rustc-env=SPICE_PLATFORM={}", platform());
    println!(
        "cargo::rustc-env=SPICE_TARGET={}",
        std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string())
    );
}

fn is_commit_like(s: &str) -> bool {
    (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Runs `git -C dir ARGS` and returns its trimmed stdout, or `None` for any
/// failure (no git, not a repository, non-UTF-8 output).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The short commit of this crate's own checkout. A crate unpacked inside
/// some other repository (vendored, or built from a registry copy inside a
/// project) must not report that repository's commit, so the checkout's top
/// level has to be this crate's directory.
fn git_commit(manifest_dir: &Path) -> Option<String> {
    let top = git(manifest_dir, &["rev-parse", "--show-toplevel"])?;
    let same = match (
        std::fs::canonicalize(&top),
        std::fs::canonicalize(manifest_dir),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself (checkout), the branch it points
    // at (commit), and packed-refs (where a packed branch lives).
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(reference) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(reference);
    }
    for name in watched {
        if let Some(path) = git(manifest_dir, &["rev-parse", "--git-path", &name]) {
            let path = manifest_dir.join(path);
            if path.exists() {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
    }
    git(manifest_dir, &["rev-parse", "--short", "HEAD"]).filter(|c| is_commit_like(c))
}

/// k8s-openapi publishes the API version its `v1_*` feature selected as
/// `DEP_K8S_OPENAPI_<crate version>_VERSION`, encoded as `0x00_MM_NN_00`.
fn kube_api_version() -> String {
    std::env::vars()
        .find(|(k, _)| k.starts_with("DEP_K8S_OPENAPI_") && k.ends_with("_VERSION"))
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .map(|v| format!("{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff))
        .unwrap_or_else(|| "unknown".to_string())
}

/// `os/arch` in the names kubectl and krew use (`linux/amd64`, `darwin/arm64`).
fn platform() -> String {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = match os.as_str() {
        "macos" => "darwin",
        "" => "unknown",
        other => other,
    };
    let arch = match arch.as_str() {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "" => "unknown",
        other => other,
    };
    format!("{os}/{arch}")
}
