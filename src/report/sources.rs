//! The header line that says which KEDA, Prometheus and Loki a report read
//! and how each was found (issue 19): `KEDA kube-system (APIService) ·
//! Prometheus monitoring/prometheus-operated:9090 (ScaledObject trigger) ·
//! Loki not installed`.

use crate::domain::snapshot::{GapReason, KedaHow, ReadFrom, Snapshot, TargetFound};
use crate::domain::text::one_line;

/// The line, or `None` for a snapshot that recorded none of it. `status`
/// reads no Loki, so it leaves Loki out (`with_loki`).
pub fn read_from(snap: &Snapshot, with_loki: bool) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(k) = &snap.keda_found {
        parts.push(match k.how {
            KedaHow::NotFound => format!("KEDA not found (looked in {})", k.searched.join(", ")),
            how => format!("KEDA {} ({})", k.namespace, how.describe()),
        });
    }
    if let Some(p) = &snap.prometheus_read {
        parts.push(http_api(
            "Prometheus",
            p,
            snap.gap("prometheus").map(|g| g.reason),
        ));
    }
    if let Some(l) = snap.loki_read.as_ref().filter(|_| with_loki) {
        parts.push(http_api("Loki", l, snap.gap("loki").map(|g| g.reason)));
    }
    if let Some(t) = &snap.scale_target {
        parts.push(match scale_target(t) {
            (what, Some(pods)) => format!("{what} {pods}"),
            (what, None) => what,
        });
    }
    (!parts.is_empty()).then(|| one_line(&parts.join(" · ")).into_owned())
}

/// The workload followed, as every header says it: `Deployment spice-game
/// from the ScaledObject's scaleTargetRef`, and `(pods <selector>)` when its
/// selector was taken. Not neutralised: the caller writes it.
pub fn scale_target(t: &TargetFound) -> (String, Option<String>) {
    let what = format!(
        "{} {} from the ScaledObject's scaleTargetRef",
        t.kind, t.name
    );
    (what, t.selector.as_ref().map(|sel| format!("(pods {sel})")))
}

fn http_api(what: &str, read: &ReadFrom, gap: Option<GapReason>) -> String {
    let tenant = match (&read.tenant, read.tenant_from.as_deref()) {
        (Some(t), Some("ScaledObject trigger")) => {
            format!(", tenant {t} from the ScaledObject's trigger")
        }
        (Some(t), _) => format!(", tenant {t}"),
        (None, _) => String::new(),
    };
    match gap {
        Some(GapReason::NotFound | GapReason::NotInstalled) => {
            format!("{what} not installed at {} ({})", read.address, read.how)
        }
        _ => format!("{what} {} ({}{tenant})", read.address, read.how),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::KedaFound;

    #[test]
    fn the_line_names_each_source_and_how_it_was_found() {
        let mut s = Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "default");
        assert_eq!(read_from(&s, true), None);
        s.keda_found = Some(KedaFound {
            namespace: "kube-system".into(),
            how: KedaHow::ApiService,
            operator_selector: String::new(),
            metrics_apiserver_selector: String::new(),
            searched: vec!["keda".into()],
        });
        s.prometheus_read = Some(ReadFrom {
            address: "monitoring/prometheus-operated:9090".into(),
            how: "ScaledObject trigger".into(),
            instead_of: None,
            tenant: None,
            tenant_from: None,
        });
        assert_eq!(
            read_from(&s, false).unwrap(),
            "KEDA kube-system (APIService) · Prometheus monitoring/prometheus-operated:9090 (ScaledObject trigger)"
        );
        let p = s.prometheus_read.as_mut().unwrap();
        p.tenant = Some("tenant-a".into());
        p.tenant_from = Some("ScaledObject trigger".into());
        assert!(
            read_from(&s, false).unwrap().ends_with(
                "(ScaledObject trigger, tenant tenant-a from the ScaledObject's trigger)"
            )
        );
    }

    #[test]
    fn the_line_says_the_deployment_came_from_the_scale_target_and_its_pods_selector() {
        let mut s = Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "default");
        s.scale_target = Some(crate::domain::snapshot::TargetFound {
            kind: "Deployment".into(),
            name: "spice-game".into(),
            instead_of: "spice-runner".into(),
            selector: Some("app.kubernetes.io/name=spice-game".into()),
            missing: false,
            pod_management_policy: None,
        });
        assert_eq!(
            read_from(&s, true).unwrap(),
            "Deployment spice-game from the ScaledObject's scaleTargetRef (pods app.kubernetes.io/name=spice-game)"
        );
        s.scale_target.as_mut().unwrap().selector = None;
        assert_eq!(
            read_from(&s, true).unwrap(),
            "Deployment spice-game from the ScaledObject's scaleTargetRef"
        );
    }
}
