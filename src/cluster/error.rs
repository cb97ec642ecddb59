//! What can go wrong talking to a cluster, each with the one-line hint that
//! fixes it. Read failures of single sources become `Gap`s; only "no cluster
//! at all" (kubeconfig, unreachable API server, 401 everywhere) stops a run.

use crate::snapshot::{Gap, GapReason};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no kubeconfig found: {0}")]
    NoKubeconfig(String),
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("{0}")]
    Context(String),
    #[error("cannot reach the API server {server}: {message}")]
    Unreachable { server: String, message: String },
    #[error("the API server {server} rejected the credentials (401 Unauthorized)")]
    Unauthorized { server: String },
    #[error("the API server {server} did not answer within {seconds}s")]
    Timeout { server: String, seconds: u64 },
    #[error("exec credential plugin `{command}` {message}")]
    ExecPlugin { command: String, message: String },
}

impl Error {
    pub fn hint(&self) -> String {
        match self {
            Error::NoKubeconfig(_) => {
                "pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod with a service account; to try it without a cluster: kubectl spice diagnose --example broken-chain".into()
            }
            Error::Kubeconfig { .. } => "check the file with `kubectl config view`".into(),
            Error::Context(_) => "list contexts with `kubectl config get-contexts`".into(),
            Error::Unreachable { .. } => {
                "is the cluster up and this the right context? try `kubectl cluster-info`".into()
            }
            Error::Unauthorized { .. } => {
                "credentials expired? run any kubectl command (e.g. `kubectl get ns`) to refresh them".into()
            }
            Error::Timeout { .. } => "raise --request-timeout, or check `kubectl cluster-info`".into(),
            Error::ExecPlugin { .. } => {
                "run the kubeconfig user's exec command by hand (a login prompt? expired SSO session?), or raise --request-timeout".into()
            }
        }
    }
}

/// Why a single read failed (Kubernetes, Prometheus or Loki), in the words
/// of the server, with the hint that fixes it. The one failure type of the
/// cluster layer: each becomes a `Gap` of its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub reason: GapReason,
    pub message: String,
    pub hint: String,
}

impl Failure {
    /// `what` gave no answer within `timeout`: the one wording of a read cut
    /// at its deadline.
    pub fn timed_out(what: &str, timeout: std::time::Duration, hint: &str) -> Failure {
        Failure {
            reason: GapReason::Timeout,
            message: format!("{what}: no answer within {}s", timeout.as_secs_f64()),
            hint: hint.into(),
        }
    }

    pub fn into_gap(self, source: &str) -> Gap {
        Gap {
            source: source.into(),
            reason: self.reason,
            message: self.message,
            hint: self.hint,
        }
    }
}

/// What a Kubernetes read was, to word 403s and 404s.
#[derive(Debug, Clone, Copy)]
pub struct ReadTarget<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub group: &'a str,
    pub namespace: Option<&'a str>,
}

impl ReadTarget<'_> {
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// The minimal RBAC rule that allows this read.
    pub fn rbac_rule(&self) -> String {
        let scope = match self.namespace {
            Some(ns) => format!(" in namespace {ns} (Role)"),
            None => " cluster-wide (ClusterRole)".to_string(),
        };
        format!(
            "grant verb \"{}\" on resource \"{}\" in API group \"{}\"{scope}",
            self.verb, self.resource, self.group
        )
    }
}

/// Classifies a failed kube-rs read by its type and status code, never by
/// the words of its text.
pub fn classify(err: &kube::Error, target: ReadTarget<'_>) -> Failure {
    let kube::Error::Api(status) = err else {
        if let Some(too_large) = super::bounded::too_large(err) {
            return Failure {
                reason: GapReason::Error,
                message: too_large.to_string(),
                hint: super::bounded::HINT.into(),
            };
        }
        let text = crate::error::chain_text(err);
        if let kube::Error::SerdeError(e) = err {
            // The server answered, with something that is not what was
            // asked for: an error answer, never "unreachable".
            return Failure {
                reason: GapReason::Error,
                message: format!("the answer could not be read: {}", crate::error::quote(&e.to_string())),
                hint: "the API server (or a proxy before it) sent something that is not this object's JSON; check `kubectl get --raw` of the same path".into(),
            };
        }
        return if timed_out(err) {
            Failure {
                reason: GapReason::Timeout,
                message: format!("no answer: {text}"),
                hint: "raise --request-timeout or check the API server".into(),
            }
        } else {
            Failure {
                reason: GapReason::Unreachable,
                message: text,
                hint: "check `kubectl cluster-info`".into(),
            }
        };
    };
    let code = status.code;
    // The message is the server's text: quoted, so a 20 MB message
    // (or an HTML page from a proxy) stays one short line.
    let message = if status.message.trim().is_empty() {
        format!("HTTP {code}")
    } else {
        crate::error::quote(&status.message)
    };
    let reason = status_reason(status);
    let (message, hint) = match reason {
        GapReason::Unauthorized => (
            "401 Unauthorized".into(),
            "credentials expired? run any kubectl command to refresh them".into(),
        ),
        GapReason::Forbidden => (message, target.rbac_rule()),
        GapReason::NotInstalled => (
            format!(
                "the cluster does not serve {} (API not installed)",
                target.qualified()
            ),
            install_hint(target.group),
        ),
        GapReason::NotFound => (message, String::new()),
        GapReason::Timeout => (
            message,
            "the API server is slow; retry or raise --request-timeout".into(),
        ),
        GapReason::Unreachable => (
            message,
            "the API server or the service behind it is unavailable; retry shortly".into(),
        ),
        _ => (
            format!("HTTP {code}: {message}"),
            "retry; if it persists, check the API server logs".into(),
        ),
    };
    Failure {
        reason,
        message,
        hint,
    }
}

/// What an API server's `Status` answer means for a read, by its code.
pub fn status_reason(status: &kube::core::Status) -> GapReason {
    match status.code {
        401 => GapReason::Unauthorized,
        403 => GapReason::Forbidden,
        404 if is_unserved_path(status) => GapReason::NotInstalled,
        404 => GapReason::NotFound,
        408 | 504 => GapReason::Timeout,
        503 => GapReason::Unreachable,
        _ => GapReason::Error,
    }
}

/// Whether an error (or any error it wraps) is a deadline that passed: the
/// client's connect and read timeouts surface as an `io::Error` of kind
/// `TimedOut` somewhere in the chain.
pub fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Whether a 404 means "this API is not served" rather than "this object
/// does not exist". A real kube-apiserver answers a path it does not serve (an
/// API group or version that is not installed) from its NotFound handler,
/// Go's `http.NotFound`: plain text `404 page not found`, which kube-rs turns
/// into a Status of its own with reason "Failed to parse error data". A
/// missing object of a served resource is a JSON Status that names it.
pub fn is_unserved_path(status: &kube::core::Status) -> bool {
    if status.code != 404 {
        return false;
    }
    let names_object = status.details.as_ref().is_some_and(|d| !d.name.is_empty());
    status.message.trim() == "404 page not found"
        || status.reason == "Failed to parse error data"
        || !names_object && !status.message.contains("not found")
}

fn install_hint(group: &str) -> String {
    match group {
        "keda.sh" => {
            "install KEDA (its ScaledObject CRD), or check that this is the right cluster".into()
        }
        "karpenter.sh" => {
            "Karpenter is not installed; node scale-up is then up to another autoscaler".into()
        }
        "" => "this API server is missing a core resource; is it a real Kubernetes API?".into(),
        g => format!("install the CRDs of API group {g}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: ReadTarget<'static> = ReadTarget {
        verb: "list",
        resource: "pods",
        group: "",
        namespace: Some("default"),
    };

    #[test]
    fn an_answer_that_cannot_be_decoded_is_an_error_not_unreachable() {
        let serde = serde_json::from_str::<u8>("{").expect_err("not a number");
        let f = classify(&kube::Error::SerdeError(serde), PODS);
        assert_eq!(f.reason, GapReason::Error, "{f:?}");
        assert!(
            f.message.starts_with("the answer could not be read"),
            "{f:?}"
        );
    }

    #[test]
    fn an_answer_past_the_limit_is_an_error_that_says_so() {
        let too_large = super::super::bounded::TooLarge {
            limit: super::super::bounded::ANSWER_LIMIT,
            line: false,
            together: false,
        };
        let f = classify(&kube::Error::Service(Box::new(too_large)), PODS);
        assert_eq!(f.reason, GapReason::Error, "{f:?}");
        assert_eq!(f.message, "answer larger than 32 MiB (read stopped)");
    }
}
