//! The release pipeline cannot run here, so its files are checked against
//! each other: `.github/workflows/release.yml` builds and names exactly the
//! archives `krew/spice.yaml` installs from, the top-level `.krew.yaml`
//! template renders to `krew/spice.yaml`, and `.github/workflows/ci.yml` runs
//! `.ci/run` on pull requests.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(rel: &str) -> Value {
    let text = read(rel);
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// `(os, arch)` → (archive file name, bin) from krew/spice.yaml.
fn krew_platforms() -> BTreeMap<(String, String), (String, String)> {
    let m = yaml("krew/spice.yaml");
    let prefix = format!(
        "{}/releases/download/{}/",
        env!("CARGO_PKG_REPOSITORY"),
        tag()
    );
    m["spec"]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .map(|p| {
            let labels = &p["selector"]["matchLabels"];
            let uri = p["uri"].as_str().expect("uri");
            let file = uri
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{uri} is not under {prefix}"));
            (
                (
                    labels["os"].as_str().expect("os").to_string(),
                    labels["arch"].as_str().expect("arch").to_string(),
                ),
                (
                    file.to_string(),
                    p["bin"].as_str().expect("bin").to_string(),
                ),
            )
        })
        .collect()
}

/// Expands `${{ github.ref_name }}` and `${{ matrix.KEY }}` as Actions would
/// for a tag push of this version.
fn expand(template: &str, matrix: &Value) -> String {
    let mut out = template.replace("${{ github.ref_name }}", &tag());
    while let Some(start) = out.find("${{ matrix.") {
        let end = start + out[start..].find("}}").expect("closing }}") + 2;
        let key = out[start + "${{ matrix.".len()..end - 2].trim();
        let value = match &matrix[key] {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            other => panic!("matrix.{key} is {other}"),
        };
        out.replace_range(start..end, &value);
    }
    assert!(!out.contains("${{"), "unexpanded expression in {out}");
    out
}

fn steps_text(job: &Value) -> String {
    job["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["uses"].as_str().unwrap_or_default(),
                s["run"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn release_workflow_runs_on_version_tags() {
    let w = yaml(".github/workflows/release.yml");
    let tags = w["on"]["push"]["tags"].as_array().expect("on.push.tags");
    assert_eq!(tags, &[Value::String("v*".into())]);
    // The tag must match Cargo.toml's version before anything is built.
    let check = &w["jobs"]["check"];
    assert!(steps_text(check).contains("Cargo.toml"));
    assert!(
        w["jobs"]["build"]["needs"] == "check",
        "build waits for the version check"
    );
}

#[test]
fn release_builds_exactly_the_archives_krew_installs() {
    let w = yaml(".github/workflows/release.yml");
    let build = &w["jobs"]["build"];
    let include = build["strategy"]["matrix"]["include"]
        .as_array()
        .expect("matrix.include");
    let archive = build["env"]["ARCHIVE"].as_str().expect("env.ARCHIVE");
    let bin = build["env"]["BIN"].as_str().expect("env.BIN");
    let krew = krew_platforms();

    let mut built = BTreeSet::new();
    for m in include {
        let os = m["os"].as_str().expect("os").to_string();
        let arch = m["arch"].as_str().expect("arch").to_string();
        let target = m["target"].as_str().expect("target");
        assert!(
            built.insert((os.clone(), arch.clone())),
            "{os}/{arch} built twice"
        );
        let (file, krew_bin) = krew
            .get(&(os.clone(), arch.clone()))
            .unwrap_or_else(|| panic!("{os}/{arch} is built but not in krew/spice.yaml"));
        assert_eq!(
            &expand(archive, m),
            file,
            "{os}/{arch}: archive name vs krew uri"
        );
        assert_eq!(&expand(bin, m), krew_bin, "{os}/{arch}: binary name");

        let cpu = match arch.as_str() {
            "amd64" => "x86_64-",
            "arm64" => "aarch64-",
            other => panic!("unexpected arch {other}"),
        };
        assert!(target.starts_with(cpu), "{os}/{arch}: target {target}");
        let system = match os.as_str() {
            "linux" => "-unknown-linux-musl",
            "darwin" => "-apple-darwin",
            "windows" => "-pc-windows-msvc",
            other => panic!("unexpected os {other}"),
        };
        assert!(
            target.ends_with(system),
            "{os}/{arch}: target {target} (Linux builds are static musl)"
        );
        let ext = m["ext"].as_str().expect("ext");
        assert_eq!(ext, if os == "windows" { "zip" } else { "tar.gz" });
    }
    let krew_keys: BTreeSet<_> = krew.keys().cloned().collect();
    assert_eq!(built, krew_keys, "built platforms vs krew platforms");

    // Every archive holds the binary, LICENSE (krew requires it) and README.
    for step in build["steps"].as_array().expect("steps") {
        let run = step["run"].as_str().unwrap_or_default();
        if run.contains("tar -C") || run.contains("Compress-Archive") {
            for f in ["BIN", "LICENSE", "README.md"] {
                assert!(run.contains(f), "packaging step lacks {f}:\n{run}");
            }
        }
    }
    let text = steps_text(build);
    assert!(text.contains("tar -C stage -czf"), "tar.gz packaging");
    assert!(text.contains("Compress-Archive"), "zip packaging");
    assert!(
        text.contains("--release --locked --target"),
        "release build per target"
    );
    assert!(text.contains("grep -q 'static'"), "static Linux check");
}

#[test]
fn release_publishes_sums_and_feeds_krew() {
    let w = yaml(".github/workflows/release.yml");
    let release = &w["jobs"]["release"];
    assert_eq!(release["needs"], "build");
    assert_eq!(release["permissions"]["contents"], "write");
    let text = steps_text(release);
    for needle in [
        "actions/download-artifact@",
        "sha256sum",
        "sha256sums.txt",
        "gh release create",
        ".krew.yaml",
    ] {
        assert!(text.contains(needle), "release job lacks {needle}");
    }
    let krew = &w["jobs"]["krew-index"];
    assert_eq!(krew["needs"], "release");
    let bot = krew["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("rajatjindal/krew-release-bot@v"))
        })
        .expect("a krew-release-bot step pinned to a version");
    assert_eq!(bot["with"]["krew_template_file"], ".krew.yaml");
}

/// What krew-release-bot makes of `.krew.yaml` for this version, with the
/// zero sums `krew/spice.yaml` carries instead of downloaded ones.
fn render_krew_template() -> String {
    let mut text = read(".krew.yaml");
    let call = "{{ addURIAndSha \"";
    let mut calls = 0;
    while let Some(start) = text.find(call) {
        let url_start = start + call.len();
        let url_end = url_start + text[url_start..].find('"').expect("closing quote");
        let rest = &text[url_end..];
        let close = rest.find("}}").expect("closing }}");
        assert_eq!(
            rest[1..close].trim(),
            ".TagName",
            "addURIAndSha takes the tag as its second argument"
        );
        let url = text[url_start..url_end].replace("{{ .TagName }}", &tag());
        let sums = format!("uri: {url}\n    sha256: \"{}\"", "0".repeat(64));
        text.replace_range(start..url_end + close + 2, &sums);
        calls += 1;
    }
    assert_eq!(
        calls,
        krew_platforms().len(),
        "one addURIAndSha per platform"
    );
    let text = text.replace("{{ .TagName }}", &tag());
    assert!(
        !text.contains("{{"),
        "unknown template action left:\n{text}"
    );
    text
}

#[test]
fn krew_template_renders_to_the_krew_manifest() {
    let rendered: Value = serde_norway::from_str(&render_krew_template()).expect("rendered YAML");
    let manifest = yaml("krew/spice.yaml");
    assert_eq!(
        rendered,
        manifest,
        ".krew.yaml rendered for {} differs from krew/spice.yaml",
        tag()
    );
    assert!(
        read(".krew.yaml").contains("version: {{ .TagName }}"),
        "the template's version follows the tag"
    );
}

#[test]
fn ci_workflow_runs_ci_run_on_pull_requests() {
    let w = yaml(".github/workflows/ci.yml");
    assert!(
        w["on"].get("pull_request").is_some(),
        "ci.yml must run on pull_request: {}",
        w["on"]
    );
    let runs: Vec<String> = w["jobs"]
        .as_object()
        .expect("jobs")
        .values()
        .flat_map(|j| j["steps"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .collect();
    assert!(
        runs.iter().any(|r| r.trim() == "bash .ci/run"),
        "no step runs .ci/run: {runs:?}"
    );
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".ci/run")
            .is_file()
    );
}
