//! `kubectl spice alerts`: the runbook's alert rules, corrected, for the names
//! and thresholds in the settings, as a PrometheusRule or a plain rule file.

use crate::cli::{AlertsArgs, AlertsFormat, GlobalArgs};
use crate::cluster::client::KubeTarget;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::settings::{ConfigFile, Settings};
use std::collections::BTreeMap;
use std::io::Write;

pub async fn run(
    global: &GlobalArgs,
    args: &AlertsArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let labels = parse_labels(&args.rule_labels)?;
    let (settings, target) = resolve(global).await?;
    let (settings, hpa) = with_hpa_name(settings, target).await;
    let note = crate::report::alerts::hpa_note(&settings, hpa.as_ref().err().map(String::as_str));
    match args.output {
        AlertsFormat::PrometheusRule => {
            crate::report::alerts::write_prometheus_rule(out, &settings, &note, &labels)?
        }
        AlertsFormat::Rules => crate::report::alerts::write_rules(out, &settings, &note)?,
        AlertsFormat::RecordingRules => {
            crate::report::alerts::write_recording_rules(out, &settings)?
        }
    }
    Ok(ExitStatus::Ok)
}

/// The settings with the HPA named as the game's ScaledObject names it
/// (`spec.advanced.horizontalPodAutoscalerConfig.name`, `status.hpaName`),
/// when the cluster can be read: one GET. `Err` says, in fixed words, why
/// KEDA's default name `keda-hpa-<scaledObject>` is kept.
async fn with_hpa_name(
    mut settings: Settings,
    target: Option<KubeTarget>,
) -> (Settings, Result<(), String>) {
    let Some(mut target) = target else {
        return (settings, Err("no kube context".into()));
    };
    let timeout = settings.request_timeout;
    let client = match target.authenticate(timeout).await {
        Ok(()) => target.client(timeout),
        Err(e) => Err(e),
    };
    let Ok(client) = client else {
        return (
            settings,
            Err("the kube context's credentials did not load".into()),
        );
    };
    match crate::cluster::target::get_scaled_object(&client, &settings).await {
        Ok(so) => {
            if let Some(name) = crate::cluster::target::hpa_name(&so) {
                settings.follow_hpa_name(&name);
            }
            (settings, Ok(()))
        }
        Err(f) => (
            settings,
            Err(format!("the ScaledObject could not be read: {}", f.reason)),
        ),
    }
}

/// `KEY=VALUE` labels for the PrometheusRule's metadata, checked the way the
/// API server would (so `kubectl apply` does not reject the output).
fn parse_labels(items: &[String]) -> Result<BTreeMap<String, String>, Fatal> {
    let hint = "give labels as KEY=VALUE, e.g. --rule-label release=kube-prometheus-stack";
    let mut labels = BTreeMap::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            return Err(Fatal::new(
                format!("--rule-label {item:?} is not KEY=VALUE"),
                hint,
            ));
        };
        let (prefix, name) = match key.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, key),
        };
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.len() <= 63
                && n.starts_with(|c: char| c.is_ascii_alphanumeric())
                && n.ends_with(|c: char| c.is_ascii_alphanumeric())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        let prefix_ok = prefix.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 253
                && p.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                })
        });
        if !name_ok(name) || !prefix_ok {
            return Err(Fatal::new(
                format!("--rule-label {item:?}: {key:?} is not a valid label key"),
                hint,
            ));
        }
        if !(value.is_empty() || name_ok(value)) {
            return Err(Fatal::new(
                format!("--rule-label {item:?}: {value:?} is not a valid label value"),
                "label values are up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
            ));
        }
        labels.insert(key.to_string(), value.to_string());
    }
    Ok(labels)
}

/// The settings, for commands that print something built from them and need
/// no cluster. The kube context still picks the config file's per-context
/// section and the namespace; without a kubeconfig the defaults apply, unless
/// the user named a kubeconfig, context, cluster or user, which must then work.
pub async fn resolve_settings(global: &GlobalArgs) -> Result<Settings, Fatal> {
    Ok(resolve(global).await?.0)
}

/// [`resolve_settings`], with the kube context when one loaded.
async fn resolve(global: &GlobalArgs) -> Result<(Settings, Option<KubeTarget>), Fatal> {
    let env = crate::process_env;
    let file = ConfigFile::load(global.config.as_deref())?;
    let explicit = global.kubeconfig.is_some()
        || global.context.is_some()
        || global.cluster.is_some()
        || global.user.is_some();
    let target = match KubeTarget::load(&global.kubeconfig_choice(), &env).await {
        Ok(t) => Some(t),
        Err(e) if explicit => return Err(e.into()),
        Err(crate::cluster::Error::NoKubeconfig(_)) => None,
        Err(e) => {
            crate::report::text::warn(&format!("{e} (using the settings without a kube context)"));
            None
        }
    };
    let settings = Settings::resolve(
        &global.overrides(),
        &env,
        &file,
        target.as_ref().and_then(|t| t.context.as_deref()),
        target.as_ref().and_then(|t| t.context_namespace.as_deref()),
    )?;
    Ok((settings, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_labels_are_checked_like_the_api_server() {
        let ok = parse_labels(&[
            "release=kube-prometheus-stack".into(),
            "prometheus.io/rules=".into(),
        ])
        .unwrap();
        assert_eq!(ok["release"], "kube-prometheus-stack");
        assert_eq!(ok["prometheus.io/rules"], "");
        for bad in ["release", "=x", "-a=b", "a=b c", "Bad.Prefix/a=b"] {
            let err = parse_labels(&[bad.to_string()]).unwrap_err();
            assert!(err.message().contains(bad), "{bad}: {}", err.message());
            assert!(err.hint().is_some());
        }
    }
}
