//! `kubectl spice timeline`: one chronological list for an incident ticket:
//! scaling episodes and band changes from the metric history, the
//! Kubernetes events still kept (ScaledObject, HPA, Deployment, game pods,
//! NodePools/NodeClaims, Nodes), and the KEDA operator's log errors about
//! our ScaledObject. Exit 3 when a source could not be read, else 0.

use super::report::{
    HistoryFormat, period_arg, read_history, reread_hpa, since_ts, stored, until_arg,
};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::history::timeline::{TimelineInputs, build};
use clap::Args;
use jiff::Timestamp;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// How far back: 1h, 90m, 24h, 7d (events reach back about 1 h).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub since: String,
    /// The end: an RFC 3339 time or a duration before now [default: now].
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = HistoryFormat::Text)]
    pub output: HistoryFormat,
    /// Replay a snapshot (taken with `snapshot --history` for the metric
    /// history) instead of reading the cluster.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

/// The metric history's step: fine enough for band changes to the quarter minute.
const STEP_SECS: f64 = 15.0;

pub async fn run(
    global: &crate::cli::GlobalArgs,
    args: &TimelineArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let since_d = period_arg("since", &args.since)?;
    let (snap, settings, series, since, until, pod_notes) = match &args.from {
        Some(path) => {
            let (snap, settings) = super::status::load_snapshot(global, path)?;
            let until = snap.captured_at;
            let series = match stored(&snap) {
                Some(r) => r.series,
                None => Err("the snapshot was taken without --history".into()),
            };
            (
                snap,
                settings,
                series,
                since_ts(until, since_d)?,
                until,
                Vec::new(),
            )
        }
        None => {
            let (sources, settings) = super::sources(global).await?;
            let now = Timestamp::now();
            let until = until_arg(args.until.as_deref(), now)?;
            let since = since_ts(until, since_d)?;
            let (snap, read) = tokio::join!(
                crate::cluster::collect::run(
                    &sources,
                    &settings,
                    now,
                    crate::cluster::collect::Scope::Full
                ),
                read_history(&sources.prometheus, &settings, since, until, STEP_SECS)
            );
            let snap = snap?;
            // The collect step found another Deployment (scaleTargetRef), the
            // tenant KEDA's trigger sends or the HPA's name: read the history
            // as it did.
            let mut settings = settings;
            super::follow_scale_target(&mut settings, &snap);
            let tenant = snap
                .prometheus_read
                .as_ref()
                .filter(|r| r.tenant_from.as_deref() == Some("ScaledObject trigger"))
                .and_then(|r| r.tenant.clone());
            let api = match (&sources.prometheus, tenant) {
                (Ok(api), Some(t)) if api.tenant().is_none() => {
                    Some(Ok(api.clone().with_tenant(Some(t))))
                }
                _ => None,
            };
            // The ScaledObject names its HPA: its series by that name.
            let read = if api.is_some() || snap.scale_target.is_some() {
                let api = api.unwrap_or_else(|| sources.prometheus.clone());
                read_history(&api, &settings, since, until, STEP_SECS).await
            } else if settings.hpa_name.is_some() {
                reread_hpa(
                    &sources.prometheus,
                    &settings,
                    since,
                    until,
                    STEP_SECS,
                    read,
                )
                .await
            } else {
                read
            };
            // Said when the recording rules were read, or would have
            // spared a long raw read.
            let mut notes: Vec<String> = read
                .read_from
                .iter()
                .filter(|r| !r.recording_rules.is_empty())
                .map(|r| r.pods.clone())
                .collect();
            let period = (until.as_millisecond() - since.as_millisecond()) as f64 / 1000.0;
            notes.extend(read.rules_hint(period).map(String::from));
            (snap, settings, read.series, since, until, notes)
        }
    };
    let mut timeline = build(&TimelineInputs {
        since,
        until,
        series: series.as_ref().map_err(Clone::clone),
        snapshot: &snap,
        namespace: &settings.namespace,
        deployment: &settings.deployment,
        scaled_object: &settings.scaled_object,
        targets: settings.targets,
        bands: settings.bands,
    });
    timeline.notes.extend(pod_notes);
    match args.output {
        HistoryFormat::Text => crate::history::render::timeline_text(out, &timeline)?,
        HistoryFormat::Json => crate::report::write_data(out, &timeline, crate::cli::Output::Json)?,
        HistoryFormat::Markdown => crate::history::render::timeline_markdown(out, &timeline)?,
        HistoryFormat::Html => crate::history::html::timeline_html(out, &timeline)?,
    }
    out.flush()?;
    Ok(ExitStatus::verdict(false, timeline.incomplete))
}
