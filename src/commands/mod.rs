//! One module per subcommand: glue between settings, collect and renderers.

pub mod alerts;
pub mod completion;
pub mod config;
pub mod dashboard;
pub mod diagnose;
pub mod explain;
pub mod man;
pub mod report;
pub mod snapshot;
pub mod status;
pub mod test;
pub mod timeline;
pub mod version;
pub mod watch;

use crate::cli::GlobalArgs;
use crate::cluster::client::KubeTarget;
use crate::error::Fatal;
use crate::settings::{ConfigFile, Settings};

/// Loads kubeconfig and resolves settings for a command that talks to a cluster.
pub async fn connect(global: &GlobalArgs) -> Result<(KubeTarget, Settings), Fatal> {
    let env = crate::process_env;
    let file = ConfigFile::load(global.config.as_deref())?;
    let mut target = KubeTarget::load(&global.kubeconfig_choice(), &env).await?;
    let settings = Settings::resolve(
        &global.overrides(),
        &env,
        &file,
        target.context.as_deref(),
        target.context_namespace.as_deref(),
    )?;
    target.authenticate(settings.request_timeout).await?;
    Ok((target, settings))
}

/// Connects and runs one collect step.
pub async fn collect(
    global: &GlobalArgs,
    scope: crate::cluster::collect::Scope,
) -> Result<(crate::snapshot::Snapshot, Settings), Fatal> {
    let (sources, settings) = sources(global).await?;
    let snap =
        crate::cluster::collect::run(&sources, &settings, jiff::Timestamp::now(), scope).await?;
    let mut settings = settings;
    follow_scale_target(&mut settings, &snap);
    Ok((snap, settings))
}

/// The settings a snapshot is judged by: when its collect step followed the
/// ScaledObject's scaleTargetRef to another Deployment or a StatefulSet
/// (issue 19 item 6), that workload and the pod selector taken from it,
/// unless the user gave `deployment` (then nothing is followed) or `selector`;
/// and the HPA by the name the ScaledObject gives it (`follow_hpa_name`).
pub fn follow_scale_target(settings: &mut Settings, snap: &crate::snapshot::Snapshot) {
    if let Some(t) = &snap.scale_target {
        follow_target(settings, t);
    }
    follow_hpa_name(settings, snap);
}

/// The queries and rules that name KEDA's HPA name the one the snapshot's
/// ScaledObject names (`spec.advanced.horizontalPodAutoscalerConfig.name`,
/// `status.hpaName`); KEDA's default `keda-hpa-<scaledObject>` when it
/// names none or could not be read.
pub fn follow_hpa_name(settings: &mut Settings, snap: &crate::snapshot::Snapshot) {
    if let Some(crate::snapshot::Lookup::Found(so)) = &snap.scaled_object
        && let Some(name) = so.keda_hpa_name()
    {
        settings.follow_hpa_name(name);
    }
}

/// `settings` judged by the workload the ScaledObject scales, `t`.
pub fn follow_target(settings: &mut Settings, t: &crate::snapshot::TargetFound) {
    let what = crate::cluster::target::FROM_SCALE_TARGET;
    let followed = match t.kind.as_str() {
        "Deployment" => settings.take_discovered("deployment", &t.name, what),
        "StatefulSet" => !settings.is_set("deployment") && settings.follow_statefulset(&t.name),
        _ => false,
    };
    if followed && let Some(selector) = &t.selector {
        settings.take_discovered("selector", selector, what);
    }
}

/// What every reading command starts from: the kube context's client and
/// the Prometheus/Loki sources reached through it, with the settings.
pub async fn sources(
    global: &GlobalArgs,
) -> Result<(crate::cluster::collect::Sources, Settings), Fatal> {
    let (target, settings) = connect(global).await?;
    let client = target.client(settings.request_timeout)?;
    let sources = crate::cluster::collect::Sources::new(
        client,
        target.context.clone(),
        target.server.clone(),
        &settings,
        &crate::process_env,
    );
    Ok((sources, settings))
}

/// Now, for the "N ago" of a replayed snapshot (`--from`, `--example`). The
/// tests that produce the README's samples fix it with `SPICE_TEST_NOW`
/// (RFC 3339), so a sample does not change with the day it is checked;
/// nothing else reads that variable, and a value that does not parse is
/// ignored.
pub(crate) fn replay_now() -> jiff::Timestamp {
    std::env::var("SPICE_TEST_NOW")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(jiff::Timestamp::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot replayed (`--from`) or just collected is judged by the HPA
    /// its ScaledObject names; a ScaledObject not read keeps KEDA's default.
    #[test]
    fn a_snapshot_is_judged_by_the_hpa_its_scaledobject_names() {
        let mut snap = crate::checks::testkit::healthy();
        if let Some(crate::snapshot::Lookup::Found(so)) = &mut snap.scaled_object {
            so.hpa_name = Some("spice-game-hpa".into());
        }
        let mut s = Settings::defaults();
        follow_scale_target(&mut s, &snap);
        assert_eq!(s.keda_hpa_name(), "spice-game-hpa");

        snap.scaled_object = None;
        let mut s = Settings::defaults();
        follow_scale_target(&mut s, &snap);
        assert_eq!(s.keda_hpa_name(), "keda-hpa-spice-runner-keda");
    }
}
