//! `krew/spice.yaml` is the manifest krew installs the plugin from. krew-index
//! runs `validate-krew-manifest` on it; these tests check the same rules (and
//! that the manifest agrees with Cargo.toml) so a release never fails there.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The `<os, arch>` pairs krew installs on (`allPlatforms` in krew's
/// validate-krew-manifest); a platform selector must match one of them.
const KREW_PLATFORMS: &[(&str, &str)] = &[
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The platforms the release builds; each must have exactly one entry.
const RELEASED: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
    ("windows", "arm64"),
];

/// File names krew's validator accepts as the license it must find installed.
const LICENSE_NAMES: &[&str] = &[
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];

fn manifest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("krew/spice.yaml")
}

fn manifest() -> Value {
    let path = manifest_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    let mut cur = v;
    for key in path.split('.') {
        cur = &cur[key];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("krew/spice.yaml: `{path}` must be a string, found {cur}"))
}

fn platforms(m: &Value) -> &Vec<Value> {
    m["spec"]["platforms"]
        .as_array()
        .expect("krew/spice.yaml: `spec.platforms` must be a list")
}

/// A platform's `(os, arch)` from its selector, which must use `matchLabels`
/// with exactly those two keys (krew allows no other key).
fn os_arch(platform: &Value) -> (&str, &str) {
    let selector = &platform["selector"];
    let labels = selector["matchLabels"]
        .as_object()
        .unwrap_or_else(|| panic!("selector {selector} must use matchLabels"));
    let keys: BTreeSet<&str> = labels.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["arch", "os"]),
        "selector {selector} must name exactly os and arch"
    );
    assert!(
        selector.get("matchExpressions").is_none(),
        "selector {selector}: use matchLabels only"
    );
    (
        labels["os"].as_str().expect("os is a string"),
        labels["arch"].as_str().expect("arch is a string"),
    )
}

/// krew parses versions as semver after a mandatory leading `v`.
fn is_semver_with_v(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |p: &str| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0'))
    };
    let ident =
        |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || numeric(i)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn https_url(s: &str) -> url::Url {
    let url = url::Url::parse(s).unwrap_or_else(|e| panic!("{s:?} is not a URL: {e}"));
    assert_eq!(url.scheme(), "https", "{s} must be https");
    assert!(
        url.host_str().is_some_and(|h| !h.is_empty()),
        "{s} has no host"
    );
    url
}

fn release_version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

#[test]
fn krew_manifest_is_a_plugin_named_after_its_file() {
    let m = manifest();
    assert_eq!(
        str_at(&m, "apiVersion"),
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(str_at(&m, "kind"), "Plugin");
    let stem = manifest_path()
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let name = str_at(&m, "metadata.name");
    assert_eq!(
        name, stem,
        "metadata.name must match the file name krew/{stem}.yaml"
    );
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "plugin name {name:?} must match ^[\\w-]+$"
    );
    // The binary krew links is kubectl-<name>, the name Cargo builds.
    assert_eq!(format!("kubectl-{name}"), env!("CARGO_PKG_NAME"));
}

#[test]
fn krew_manifest_version_is_the_crate_version() {
    let m = manifest();
    let version = str_at(&m, "spec.version");
    assert!(
        is_semver_with_v(version),
        "spec.version {version:?} must be semver with a leading v"
    );
    assert_eq!(
        version,
        release_version(),
        "spec.version must follow Cargo.toml's version"
    );
}

#[test]
fn krew_manifest_describes_the_plugin() {
    let m = manifest();
    let short = str_at(&m, "spec.shortDescription");
    assert!(!short.trim().is_empty(), "shortDescription is required");
    assert!(
        !short.contains(['\r', '\n']),
        "shortDescription must be one line"
    );
    assert!(
        short.chars().count() <= 50,
        "shortDescription is {} chars; keep it to 50",
        short.chars().count()
    );
    assert!(
        !short.to_lowercase().starts_with("kubectl"),
        "krew's naming guide: do not start shortDescription with \"kubectl\""
    );
    for field in ["description", "caveats"] {
        let text = str_at(&m, &format!("spec.{field}"));
        assert!(!text.trim().is_empty(), "spec.{field} is empty");
        for line in text.lines() {
            // validate-krew-manifest warns about longer lines that contain spaces.
            assert!(
                line.chars().count() <= 80 || !line.trim().contains(' '),
                "spec.{field} has a line over 80 chars: {line:?}"
            );
        }
    }
    // The caveats list the RBAC the plugin needs; keep them in step with what it reads.
    let caveats = str_at(&m, "spec.caveats");
    for resource in [
        "pods",
        "pods/log",
        "events",
        "nodes",
        "deployments",
        "horizontalpodautoscalers",
        "scaledobjects (keda.sh)",
        "nodepools, nodeclaims (karpenter.sh)",
        "services/proxy",
    ] {
        assert!(
            caveats.contains(resource),
            "caveats do not mention {resource}"
        );
    }
}

#[test]
fn krew_manifest_homepage_is_the_repository() {
    let m = manifest();
    let homepage = str_at(&m, "spec.homepage");
    https_url(homepage);
    assert_eq!(
        homepage,
        env!("CARGO_PKG_REPOSITORY"),
        "homepage must be Cargo.toml's repository"
    );
}

#[test]
fn krew_manifest_platforms_are_complete_and_well_formed() {
    let m = manifest();
    let version = release_version();
    let repo = env!("CARGO_PKG_REPOSITORY");
    let mut seen = BTreeSet::new();
    for platform in platforms(&m) {
        let (os, arch) = os_arch(platform);
        assert!(
            KREW_PLATFORMS.contains(&(os, arch)),
            "{os}/{arch} is not a platform krew installs on"
        );
        assert!(
            seen.insert((os, arch)),
            "two platforms select {os}/{arch}; krew rejects overlapping selectors"
        );

        let uri = str_at(platform, "uri");
        https_url(uri);
        let ext = if os == "windows" { "zip" } else { "tar.gz" };
        assert_eq!(
            uri,
            format!("{repo}/releases/download/{version}/kubectl-spice_{version}_{os}_{arch}.{ext}"),
            "{os}/{arch}: uri must name the release archive of this version and platform"
        );

        let sha = str_at(platform, "sha256");
        assert!(
            is_sha256_hex(sha),
            "{os}/{arch}: sha256 {sha:?} must match ^[a-f0-9]{{64}}$"
        );

        let exe = if os == "windows" {
            "kubectl-spice.exe"
        } else {
            "kubectl-spice"
        };
        let bin = str_at(platform, "bin");
        assert_eq!(bin, exe, "{os}/{arch}: bin");

        let files = platform["files"]
            .as_array()
            .unwrap_or_else(|| panic!("{os}/{arch}: files must be a list"));
        assert!(!files.is_empty(), "{os}/{arch}: files must not be empty");
        for op in files {
            assert!(
                !str_at(op, "from").is_empty() && !str_at(op, "to").is_empty(),
                "{os}/{arch}: {op}"
            );
        }
        let installed: Vec<&str> = files
            .iter()
            .filter(|op| str_at(op, "to") == ".")
            .map(|op| str_at(op, "from"))
            .collect();
        assert!(
            installed.contains(&bin),
            "{os}/{arch}: bin {bin} is not among the installed files {installed:?}"
        );
        assert!(
            installed
                .iter()
                .any(|f| LICENSE_NAMES.contains(&f.to_lowercase().as_str())),
            "{os}/{arch}: krew requires a LICENSE file among the installed files {installed:?}"
        );
    }
    for (os, arch) in RELEASED {
        assert!(seen.contains(&(*os, *arch)), "no platform for {os}/{arch}");
    }
    assert_eq!(
        seen.len(),
        RELEASED.len(),
        "platforms beyond the released ones: {seen:?}"
    );
}

#[test]
fn krew_manifest_ships_the_repository_license() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("LICENSE");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(env!("CARGO_PKG_LICENSE"), "Apache-2.0");
    assert!(
        text.contains("Apache License") && text.contains("Version 2.0, January 2004"),
        "LICENSE is not Apache-2.0"
    );
    assert!(
        text.contains("END OF TERMS AND CONDITIONS"),
        "LICENSE is truncated"
    );
}

#[test]
fn krew_semver_check_matches_krews_rules() {
    for ok in ["v0.1.0", "v1.2.3", "v10.0.0-rc.1", "v1.0.0-alpha-1+build.5"] {
        assert!(is_semver_with_v(ok), "{ok} should be accepted");
    }
    for bad in [
        "0.1.0",
        "v0.1",
        "v01.1.0",
        "v1.2.3-",
        "v1.2.3-01",
        "vx.y.z",
        "v1.2.3+",
    ] {
        assert!(!is_semver_with_v(bad), "{bad} should be rejected");
    }
}
