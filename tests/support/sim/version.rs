//! The Kubernetes minor the simulated API server is (a scenario's
//! `kubernetes:` field): what `/version` answers and what that version
//! serves differently among the fields and resources the plugin reads.
//!
//! From upstream (facts carried over, no code):
//! - release dates: kubernetes/sig-release `releases/release-1.3x/README.md`
//!   (1.33.0 2025-04-23, 1.34.0 2025-08-27, 1.35.0 2025-12-17, 1.36.0
//!   2026-04-22, 1.37.0 2026-08-26).
//! - `HPAConfigurableTolerance` (kubernetes `pkg/features/kube_features.go`):
//!   alpha, off by default, in 1.33 and 1.34; beta, on by default, from 1.35.
//!   With the gate off the API server drops `spec.behavior.scaleUp.tolerance`
//!   and `scaleDown.tolerance` when an HPA is written (its drop-disabled-fields
//!   strategy), so KEDA's HPA never carries them; before 1.33 the field does
//!   not exist at all.
//! - core/v1 Endpoints is deprecated from 1.33 (KEP-4974): every request for
//!   it answers with the header
//!   `Warning: 299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"`.

use serde_json::{Value, json};

/// The minors a scenario may name, each with its x.0 release date.
const RELEASES: &[(u32, &str)] = &[
    (33, "2025-04-23"),
    (34, "2025-08-27"),
    (35, "2025-12-17"),
    (36, "2026-04-22"),
    (37, "2026-08-26"),
];

/// The header a 1.33+ API server adds to every core/v1 Endpoints answer.
pub const ENDPOINTS_WARNING: &str =
    "299 - \"v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\"";

/// One Kubernetes minor, `1.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedVersion {
    pub minor: u32,
}

impl ServedVersion {
    /// `"1.35"`; panics on any other shape or an unmodelled minor, since a
    /// scenario naming one is a broken test.
    pub fn parse(text: &str) -> ServedVersion {
        let minor = text
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|m| RELEASES.iter().any(|(r, _)| r == m))
            .unwrap_or_else(|| {
                panic!(
                    "kubernetes: {text:?} is not a modelled minor (1.{}–1.{})",
                    RELEASES[0].0,
                    RELEASES[RELEASES.len() - 1].0
                )
            });
        ServedVersion { minor }
    }

    /// `/version` as kube-apiserver answers it (1.33+ shape, with the
    /// emulation and compatibility fields). gitCommit and goVersion are
    /// stand-ins: nothing reads them.
    pub fn json(&self) -> Value {
        let m = self.minor;
        let date = RELEASES
            .iter()
            .find(|(r, _)| *r == m)
            .map_or("2025-04-23", |(_, d)| d);
        json!({
            "major": "1",
            "minor": m.to_string(),
            "emulationMajor": "1",
            "emulationMinor": m.to_string(),
            "minCompatibilityMajor": "1",
            "minCompatibilityMinor": (m - 1).to_string(),
            "gitVersion": format!("v1.{m}.0"),
            "gitCommit": "60a317eadfcb839692a68eab88b2096f4d708f4f",
            "gitTreeState": "clean",
            "buildDate": format!("{date}T13:07:07Z"),
            "goVersion": "go1.24.2",
            "compiler": "gc",
            "platform": "linux/amd64"
        })
    }

    /// Per-HPA tolerance survives a write (HPAConfigurableTolerance on by
    /// default from 1.35).
    pub fn keeps_hpa_tolerance(&self) -> bool {
        self.minor >= 35
    }

    /// core/v1 Endpoints answers carry the deprecation warning.
    pub fn warns_on_endpoints(&self) -> bool {
        self.minor >= 33
    }

    /// Objects as this server stores them: an HPA written with a tolerance
    /// loses it where the gate is off.
    pub fn admit(&self, objects: &mut [Value]) {
        if self.keeps_hpa_tolerance() {
            return;
        }
        for o in objects
            .iter_mut()
            .filter(|o| o["kind"] == "HorizontalPodAutoscaler")
        {
            for dir in ["scaleUp", "scaleDown"] {
                if let Some(rules) = o["spec"]["behavior"][dir].as_object_mut() {
                    rules.remove("tolerance");
                }
            }
        }
    }
}

/// A core/v1 Endpoints request (`/api/v1/endpoints`,
/// `/api/v1/namespaces/NS/endpoints[/NAME]`, and the legacy watch forms);
/// never a service proxy path that happens to contain the word.
pub fn is_endpoints_path(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let rest = match segs.as_slice() {
        ["api", "v1", "watch", rest @ ..] | ["api", "v1", rest @ ..] => rest,
        _ => return false,
    };
    matches!(rest, ["endpoints", ..] | ["namespaces", _, "endpoints", ..])
}
