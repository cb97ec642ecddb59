//! Which workload `--scale-to-zero`'s one write scales: the one the
//! ScaledObject's `scaleTargetRef` names, exactly as every read command
//! follows it (`cluster::target`). A Deployment through
//! `deployments/NAME/scale`, a StatefulSet through `statefulsets/NAME/scale`
//! (both apps/v1, autoscaling/v1 `Scale`). Any other kind (an Argo Rollout, a
//! custom resource with `/scale`) is refused before anything is written, and
//! so is a `deployment` setting that names another Deployment than the one
//! KEDA scales: scaling that one to 0 would not empty the game. Without a
//! ScaledObject (or when it could not be read) the configured Deployment is
//! scaled, as before and as the read commands read it.

use crate::cluster::target::is_dns_subdomain;
use crate::domain::snapshot::{Lookup, ScaledObjectInfo};
use crate::error::Fatal;
use crate::loadtest::render::clean;
use crate::settings::Settings;

/// The workload `--scale-to-zero` scales and puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    Deployment(String),
    StatefulSet(String),
}

impl Workload {
    /// `Deployment` or `StatefulSet`.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::Deployment(_) => "Deployment",
            Workload::StatefulSet(_) => "StatefulSet",
        }
    }

    /// As kubectl names the kind: `deployment`, `statefulset`.
    pub fn word(&self) -> &'static str {
        match self {
            Workload::Deployment(_) => "deployment",
            Workload::StatefulSet(_) => "statefulset",
        }
    }

    /// The plural in the API path and in RBAC: `deployments`, `statefulsets`.
    pub fn resource(&self) -> &'static str {
        match self {
            Workload::Deployment(_) => "deployments",
            Workload::StatefulSet(_) => "statefulsets",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Workload::Deployment(n) | Workload::StatefulSet(n) => n,
        }
    }

    /// The API whose `get_scale`/`patch_scale` reach
    /// `/apis/apps/v1/namespaces/NS/<resource>/NAME/scale`. Only the Scale
    /// is ever decoded, never the workload itself.
    pub fn api(
        &self,
        kube: &kube::Client,
        namespace: &str,
    ) -> kube::Api<kube::core::DynamicObject> {
        let resource = kube::core::ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: self.kind().into(),
            plural: self.resource().into(),
        };
        kube::Api::namespaced_with(kube.clone(), namespace, &resource)
    }
}

/// The most of a name or kind from the cluster a refusal quotes.
const SHOWN: usize = 100;

fn shown(s: &str) -> String {
    let cut: String = s.chars().take(SHOWN).collect();
    let more = if cut.len() < s.len() { "…" } else { "" };
    clean(&format!("{cut}{more}"))
}

/// The workload to scale, from the snapshot's ScaledObject (`so`), or why
/// the write is refused (nothing written; exit 2 like every refusal).
pub fn workload(
    settings: &Settings,
    so: Option<&Lookup<ScaledObjectInfo>>,
) -> Result<Workload, Fatal> {
    let Some(Lookup::Found(so)) = so else {
        return Ok(Workload::Deployment(settings.deployment.clone()));
    };
    let ns = &settings.namespace;
    let scaled_object = format!("ScaledObject {ns}/{}", shown(&so.name));
    let api_version = so
        .target_api_version
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("apps/v1");
    let kind = so
        .target_kind
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("Deployment");
    let name = so.target_name.as_str();
    let refuse = |what: String, hint: String| {
        Err(Fatal::new(
            format!("--scale-to-zero: {scaled_object} {what}; nothing was changed"),
            hint,
        ))
    };
    if !is_dns_subdomain(name) || name.starts_with('-') || name.ends_with('-') {
        return refuse(
            format!("has no valid scaleTargetRef.name ({:?})", shown(name)),
            format!(
                "fix its spec.scaleTargetRef: kubectl get scaledobject {} -n {ns} -o jsonpath={{.spec.scaleTargetRef}}",
                shown(&so.name)
            ),
        );
    }
    let apps = api_version.starts_with("apps/");
    let given = settings.is_set("deployment");
    let deployment = &settings.deployment;
    let from = settings
        .effective
        .iter()
        .find(|e| e.key == "deployment")
        .map(|e| e.source.to_string())
        .unwrap_or_default();
    match (apps, kind) {
        (true, "Deployment") if given && name != deployment => refuse(
            format!(
                "scales Deployment {name}, but the deployment setting ({from}) names {}",
                shown(deployment)
            ),
            format!(
                "scaling {} to 0 would not empty the game KEDA scales: drop the deployment setting (--deployment, SPICE_DEPLOYMENT or deployment: in the config file) so the test follows scaleTargetRef, or set --deployment {name}",
                shown(deployment)
            ),
        ),
        (true, "Deployment") => Ok(Workload::Deployment(name.to_string())),
        (true, "StatefulSet") if given => refuse(
            format!(
                "scales StatefulSet {name}, but the deployment setting ({from}) names Deployment {}",
                shown(deployment)
            ),
            format!(
                "drop the deployment setting (--deployment, SPICE_DEPLOYMENT or deployment: in the config file) so the test follows StatefulSet {name} and scales it through statefulsets/{name}/scale"
            ),
        ),
        (true, "StatefulSet") => Ok(Workload::StatefulSet(name.to_string())),
        _ => refuse(
            format!(
                "scales {} {name} ({}), which --scale-to-zero does not write (only a Deployment or a StatefulSet)",
                shown(kind),
                shown(api_version)
            ),
            format!(
                "run the test without --scale-to-zero (scale the {} to 0 yourself first if it must start from 0), with --selector set to its pods' labels and --deployment {name} if they are named {name}-<hash>-<suffix>",
                shown(kind)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit;
    use crate::settings::Source;

    fn so(api_version: Option<&str>, kind: Option<&str>, name: &str) -> Lookup<ScaledObjectInfo> {
        let mut so = testkit::scaled_object();
        so.target_api_version = api_version.map(str::to_string);
        so.target_kind = kind.map(str::to_string);
        so.target_name = name.to_string();
        Lookup::Found(so)
    }

    fn given_deployment(name: &str) -> Settings {
        let mut s = Settings::defaults();
        s.deployment = name.to_string();
        for e in s.effective.iter_mut().filter(|e| e.key == "deployment") {
            e.source = Source::Flag("--deployment".into());
        }
        s
    }

    fn refusal(r: Result<Workload, Fatal>) -> String {
        let Err(f) = r else {
            panic!("not refused: {r:?}")
        };
        let text = format!("{}\nhint: {}", f.message(), f.hint().unwrap_or(""));
        assert!(f.message().starts_with("--scale-to-zero: "), "{text}");
        assert!(f.message().ends_with("; nothing was changed"), "{text}");
        assert!(!f.message().contains('\n') && !f.hint().unwrap_or("").contains('\n'));
        text
    }

    #[test]
    fn the_write_goes_to_the_deployment_or_statefulset_the_scaled_object_scales() {
        let d = Settings::defaults();
        let game = so(Some("apps/v1"), Some("Deployment"), "spice-game");
        assert_eq!(
            workload(&d, Some(&game)).ok(),
            Some(Workload::Deployment("spice-game".into()))
        );
        // KEDA's defaults: kind Deployment, apiVersion apps/v1.
        assert_eq!(
            workload(&d, Some(&so(None, None, "spice-game"))).ok(),
            Some(Workload::Deployment("spice-game".into()))
        );
        let sts = so(Some("apps/v1"), Some("StatefulSet"), "spice-runner");
        let w = workload(&d, Some(&sts)).expect("a StatefulSet");
        assert_eq!(w, Workload::StatefulSet("spice-runner".into()));
        assert_eq!(
            (w.kind(), w.word(), w.resource()),
            ("StatefulSet", "statefulset", "statefulsets")
        );
        // The usual install, and a given --deployment that is the target.
        let usual = so(Some("apps/v1"), Some("Deployment"), "spice-runner");
        assert_eq!(
            workload(&d, Some(&usual)).ok(),
            Some(Workload::Deployment("spice-runner".into()))
        );
        assert_eq!(
            workload(&given_deployment("spice-game"), Some(&game)).ok(),
            Some(Workload::Deployment("spice-game".into()))
        );
    }

    #[test]
    fn without_a_scaled_object_the_configured_deployment_is_scaled_as_the_reads_read_it() {
        let d = given_deployment("spice-game");
        for so in [None, Some(&Lookup::Missing)] {
            assert_eq!(
                workload(&d, so).ok(),
                Some(Workload::Deployment("spice-game".into()))
            );
        }
        assert_eq!(
            workload(&Settings::defaults(), None).ok(),
            Some(Workload::Deployment("spice-runner".into()))
        );
    }

    #[test]
    fn a_rollout_or_any_other_kind_is_refused_naming_selector_and_deployment() {
        let d = Settings::defaults();
        for (api, kind) in [
            ("argoproj.io/v1alpha1", "Rollout"),
            ("example.com/v1", "GameServerSet"),
            // A Deployment of another group is not the apps Deployment the reads follow.
            ("extensions/v1beta1", "Deployment"),
            ("apps/v1", "ReplicaSet"),
        ] {
            let text = refusal(workload(&d, Some(&so(Some(api), Some(kind), "spice-game"))));
            assert!(
                text.contains(&format!(
                    "ScaledObject default/spice-runner-keda scales {kind} spice-game ({api}), which --scale-to-zero does not write"
                )),
                "{text}"
            );
            assert!(
                text.contains("without --scale-to-zero")
                    && text.contains("--selector")
                    && text.contains("--deployment spice-game"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_deployment_setting_that_is_not_keda_s_target_is_refused_with_both_names() {
        let game = so(Some("apps/v1"), Some("Deployment"), "spice-game");
        let text = refusal(workload(&given_deployment("spice-runner"), Some(&game)));
        assert!(
            text.contains("scales Deployment spice-game, but the deployment setting (flag --deployment) names spice-runner"),
            "{text}"
        );
        assert!(
            text.contains("scaling spice-runner to 0 would not empty the game")
                && text.contains("--deployment spice-game"),
            "{text}"
        );
        let sts = so(Some("apps/v1"), Some("StatefulSet"), "spice-runner");
        let text = refusal(workload(&given_deployment("spice-runner"), Some(&sts)));
        assert!(
            text.contains("scales StatefulSet spice-runner, but the deployment setting (flag --deployment) names Deployment spice-runner")
                && text.contains("drop the deployment setting"),
            "{text}"
        );
    }

    #[test]
    fn a_hostile_target_is_refused_neutralised_and_bounded() {
        let d = Settings::defaults();
        for name in ["../pods/x", "Spice\u{1b}[31m", "", "-x", "a/b"] {
            let text = refusal(workload(&d, Some(&so(None, None, name))));
            assert!(text.contains("has no valid scaleTargetRef.name"), "{text}");
            assert!(!text.contains('\u{1b}'), "{text:?}");
        }
        let kind = format!("Roll\u{1b}]0;x\u{7}out{}", "k".repeat(5000));
        let text = refusal(workload(&d, Some(&so(Some("x/v1"), Some(&kind), "spice"))));
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.len() < 1200, "{}", text.len());
    }
}
