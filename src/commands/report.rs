//! `kubectl spice report`: the runbook's Key Metrics over a past period,
//! from one round of Prometheus range queries (the same queries and the
//! same episode logic as `watch`'s history). Exit 1 when a target is
//! missed, 3 when a source could not be read.

use crate::cluster::{prometheus::HttpApi, range};
use crate::domain::{promql, recording};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::history::{self, Heartbeats, Inputs, NodeLaunch, PodCounts, Series};
use crate::settings::Settings;
use crate::snapshot::{PromAnswer, Sample, Snapshot};
use clap::{Args, ValueEnum};
use jiff::Timestamp;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How far back: 24h, 7d, 90m, 1w (at most 31d).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub since: String,
    /// The end of the period: an RFC 3339 time (2026-12-07T04:00:00Z), or
    /// a duration before now (2h) [default: now].
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Seconds between points: fine enough to see a 30 s scale-up (a week
    /// at 15 s is fifteen half-day requests per series).
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub step: String,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = HistoryFormat::Text)]
    pub output: HistoryFormat,
    /// Replay a snapshot taken with `snapshot --history` instead of reading
    /// the cluster.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
    Markdown,
    Html,
}

/// The longest period: a month of 15 s points is 63 half-day requests per
/// series.
const MAX_SINCE_SECS: f64 = 31.0 * 86_400.0;

/// `7d`, `1w`, or any duration `settings` reads (`24h`, `90m`, `1h30m`).
pub fn period_arg(flag: &str, v: &str) -> Result<Duration, Fatal> {
    let hint = "give a duration such as 1h, 24h, 7d, from 1m to 31d";
    let t = v.trim();
    let days = |n: &str, mult: f64| {
        n.parse::<f64>()
            .ok()
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(|d| d * mult * 86_400.0)
    };
    let secs = if let Some(n) = t.strip_suffix('d') {
        days(n, 1.0)
    } else if let Some(n) = t.strip_suffix('w') {
        days(n, 7.0)
    } else {
        crate::settings::parse_duration(t)
            .ok()
            .map(|d| d.as_secs_f64())
    };
    match secs {
        Some(s) if (60.0..=MAX_SINCE_SECS).contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err(Fatal::new(
            format!("--{flag} {}: out of range", crate::error::quote(t)),
            hint,
        )),
        None => Err(Fatal::new(
            format!("--{flag}: {} is not a duration", crate::error::quote(t)),
            hint,
        )),
    }
}

/// `--until`: an RFC 3339 time or a duration before `now`.
pub fn until_arg(v: Option<&str>, now: Timestamp) -> Result<Timestamp, Fatal> {
    let Some(v) = v else { return Ok(now) };
    if let Ok(t) = v.trim().parse::<Timestamp>() {
        return Ok(t.min(now));
    }
    let ago = period_arg("until", v).map_err(|_| {
        Fatal::new(
            format!(
                "--until: {} is neither a time nor a duration",
                crate::error::quote(v)
            ),
            "give an RFC 3339 time such as 2026-12-07T04:00:00Z, or a duration before now such as 2h",
        )
    })?;
    now.checked_sub(jiff::SignedDuration::try_from(ago).unwrap_or_default())
        .map_err(|_| Fatal::new("--until: before 1970", ""))
}

fn secs(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// The snapshot keys the history series are kept under (`snapshot --history`).
/// The last three came later: a snapshot without them replays with them empty.
pub const HISTORY_KEYS: [(&str, &str); 7] = [
    (promql::SESSIONS, "history.sessions"),
    (promql::RUNNING_PODS, "history.runningPods"),
    (promql::PENDING_PODS, "history.pendingPods"),
    (promql::NODES, "history.nodes"),
    (promql::HPA_DESIRED, "history.hpaDesired"),
    (
        promql::DEPLOYMENT_GENERATION,
        "history.deploymentGeneration",
    ),
    (promql::HPA_GENERATION, "history.hpaGeneration"),
];
/// Keys every history snapshot has.
const REQUIRED_KEYS: usize = 4;
/// The snapshot keys of the pod counts.
const POD_KEYS: [&str; 4] = [
    "history.podsCreated",
    "history.podsReady",
    "history.podsFailed",
    "history.restarts",
];
/// The snapshot keys of the node launches (labelled `node`).
const LAUNCH_KEYS: [&str; 2] = ["history.nodeCreated", "history.nodeFirstReady"];

/// The first round: the cheap series, and the running and pending pods as
/// the recording rules recorded them (`domain::recording`); the raw pod
/// sums are [`raw_pod_queries`], read only where nothing was recorded.
fn history_queries(s: &Settings) -> Vec<promql::Query> {
    let mut q = vec![
        promql::sessions(s),
        promql::nodes(),
        promql::hpa_desired(s),
        promql::deployment_generation(s),
        promql::hpa_generation(s),
    ];
    q.extend(recording::recorded_queries(s));
    q
}

/// The running and pending sums over every pod series: Prometheus's
/// costliest reads over days.
fn raw_pod_queries(s: &Settings) -> Vec<promql::Query> {
    vec![
        promql::running_pods_over_range(s),
        promql::pending_pods_over_range(s),
    ]
}

/// The history queries that name KEDA's HPA: the ones read again when the
/// ScaledObject names its HPA other than `keda-hpa-<name>`.
fn hpa_queries(s: &Settings) -> [promql::Query; 2] {
    [promql::hpa_desired(s), promql::hpa_generation(s)]
}

/// `read` with the HPA's series read again by the HPA name in `settings`
/// (the ScaledObject names its HPA): only the two queries that name it, one
/// more request each, off the usual path. A history that could not be read
/// stays as it was.
pub async fn reread_hpa(
    api: &Result<HttpApi, String>,
    settings: &Settings,
    since: Timestamp,
    until: Timestamp,
    step: f64,
    mut read: Read,
) -> Read {
    let (Ok(api), Ok(series)) = (api, &mut read.series) else {
        return read;
    };
    let queries = hpa_queries(settings);
    match range::read(
        api,
        &queries,
        secs(since),
        secs(until),
        step,
        settings.request_timeout,
    )
    .await
    {
        Ok(mut r) => {
            series.desired = r.series.remove(promql::HPA_DESIRED).unwrap_or_default();
            series.hpa_generation = r.series.remove(promql::HPA_GENERATION).unwrap_or_default();
        }
        Err(f) => read.series = Err(f.message),
    }
    read
}
/// A period this long read without the recording rules earns the hint
/// to install them, as does a raw read this slow.
const HINT_PERIOD_SECS: f64 = 86_400.0;
const HINT_RAW_SECS: f64 = 5.0;
pub const RULES_HINT: &str = "install the recording rules and the pod counts read in seconds: kubectl spice alerts | kubectl apply -f - (see the README's \"Recording rules\")";

/// What one read of the past holds.
pub struct Read {
    pub series: Result<Series, String>,
    pub pods: Result<PodCounts, String>,
    pub launches: Result<Vec<NodeLaunch>, String>,
    /// Where the pod counts came from (`None`: replayed, or unread).
    pub read_from: Option<history::ReadFrom>,
}

pub const BACKFILL_HINT: &str = "the recording rules began after the period did: backfill them for the past with promtool tsdb create-blocks-from rules (see the README's \"Recording rules\")";

impl Read {
    /// The hint to install the recording rules when this read summed the
    /// pod series over a long or slow period, or to backfill them when
    /// they began late and the rest was slow.
    pub fn rules_hint(&self, period_secs: f64) -> Option<&'static str> {
        let r = self.read_from.as_ref()?;
        if r.raw.is_empty() {
            None
        } else if r.recorded_since.is_none() {
            (period_secs > HINT_PERIOD_SECS || r.raw_seconds > HINT_RAW_SECS).then_some(RULES_HINT)
        } else {
            (r.raw_seconds > HINT_RAW_SECS).then_some(BACKFILL_HINT)
        }
    }
}

/// The time of a point, for the sources line.
fn at(t: f64) -> Timestamp {
    Timestamp::from_millisecond((t * 1000.0).round() as i64).unwrap_or_default()
}

/// What the pod counts were read from, in a sentence and in fields.
fn read_from(
    recorded_first: Option<f64>,
    raw: &[(f64, f64)],
    raw_seconds: f64,
    step: f64,
) -> history::ReadFrom {
    let rules = format!(
        "the recording rules {} and {}",
        recording::RUNNING_RECORD,
        recording::PENDING_RECORD
    );
    let short = |t: f64| at(t).strftime("%Y-%m-%d %H:%M UTC").to_string();
    let pods = match (recorded_first, raw) {
        (None, _) => format!(
            "running and pending pods summed from every kube_pod_status_phase series (no recording rule {} for these settings)",
            recording::RUNNING_RECORD
        ),
        (Some(_), []) => format!("running and pending pods from {rules}"),
        (Some(first), parts) if parts.iter().all(|p| p.1 < first) => format!(
            "running and pending pods from {rules} since {}, before that from kube_pod_status_phase",
            short(first)
        ),
        (Some(first), parts) => {
            let secs: f64 = parts.iter().map(|p| p.1 - p.0 + step).sum();
            format!(
                "running and pending pods from {rules} since {}, where they have no point ({} stretch{}, {:.0} min in all) from kube_pod_status_phase",
                short(first),
                parts.len(),
                if parts.len() == 1 { "" } else { "es" },
                secs / 60.0
            )
        }
    };
    history::ReadFrom {
        pods,
        recording_rules: if recorded_first.is_some() {
            vec![
                recording::RUNNING_RECORD.to_string(),
                recording::PENDING_RECORD.to_string(),
            ]
        } else {
            Vec::new()
        },
        recorded_since: recorded_first.map(at),
        raw: raw.iter().map(|p| [at(p.0), at(p.1)]).collect(),
        raw_seconds: (raw_seconds * 10.0).round() / 10.0,
    }
}

/// The series of the first round, with the pod sums read raw where the
/// recording rules have no point (a second round, only then: the parts
/// read at once).
async fn read_series(
    api: &HttpApi,
    settings: &Settings,
    from: f64,
    to: f64,
    step: f64,
    timeout: Duration,
) -> Result<(crate::cluster::history::Ranges, history::ReadFrom), crate::cluster::error::Failure> {
    let mut first = range::read(api, &history_queries(settings), from, to, step, timeout).await?;
    let mut take = |k: &str| first.series.remove(k).unwrap_or_default();
    let rec_running = take(recording::RECORDED_RUNNING);
    let rec_pending = take(recording::RECORDED_PENDING);
    let grid_step = first.step_secs;
    let parts = recording::raw_parts(&[&rec_running, &rec_pending], from, to, grid_step);
    let recorded_first = rec_running
        .first()
        .into_iter()
        .chain(rec_pending.first())
        .map(|p| p.0)
        .reduce(f64::min);
    let started = std::time::Instant::now();
    let raw_queries = raw_pod_queries(settings);
    let raws = futures::future::join_all(
        parts
            .iter()
            .map(|&(a, b)| range::read(api, &raw_queries, a, b, grid_step, timeout)),
    )
    .await;
    let raw_seconds = started.elapsed().as_secs_f64();
    let (mut raw_running, mut raw_pending) = (Vec::new(), Vec::new());
    for r in raws {
        let mut r = r?;
        raw_running.extend(r.series.remove(promql::RUNNING_PODS).unwrap_or_default());
        raw_pending.extend(r.series.remove(promql::PENDING_PODS).unwrap_or_default());
    }
    let running = recording::merge(rec_running, raw_running);
    let pending = recording::merge(rec_pending, raw_pending);
    if !running.is_empty() {
        first.series.insert(promql::RUNNING_PODS, running);
    }
    if !pending.is_empty() {
        first.series.insert(promql::PENDING_PODS, pending);
    }
    let source = read_from(recorded_first, &parts, raw_seconds, grid_step);
    Ok((first, source))
}

/// Node launches from the created and first-Ready times by node (unix
/// seconds): names bounded and made one line, at most [`range::MAX_LABELLED`].
fn launches_of(created: &[(String, f64)], ready: &[(String, f64)]) -> Vec<NodeLaunch> {
    let ready: std::collections::BTreeMap<&str, f64> =
        ready.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let mut out: Vec<NodeLaunch> = created
        .iter()
        .filter_map(|(node, c)| {
            let created_at = Timestamp::from_millisecond((c * 1000.0) as i64).ok()?;
            let name: String = crate::domain::text::one_line(node)
                .chars()
                .take(120)
                .collect();
            Some(NodeLaunch {
                node: name,
                created_at,
                ready_seconds: ready.get(node.as_str()).map(|r| (r - c).max(0.0)),
            })
        })
        .collect();
    out.sort_by_key(|a| a.created_at);
    out
}

/// One round of reads: the four series in chunks, the pod counts at the end.
pub async fn read_history(
    api: &Result<HttpApi, String>,
    settings: &Settings,
    since: Timestamp,
    until: Timestamp,
    step: f64,
) -> Read {
    let api = match api {
        Ok(a) => a,
        Err(e) => {
            return Read {
                series: Err(e.clone()),
                pods: Err(e.clone()),
                launches: Err(e.clone()),
                read_from: None,
            };
        }
    };
    let (from, to) = (secs(since), secs(until));
    let period = (to - from).max(1.0) as u64;
    let timeout = settings.request_timeout;
    let counts = [
        promql::pods_created_over(settings, period),
        promql::pods_ready_over(settings, period),
        promql::pods_failed_over(settings, period),
        promql::restarts_over(settings, period),
    ];
    let pod_reads = futures::future::join_all(
        counts
            .iter()
            .map(|q| range::instant_at(api, q, to, timeout)),
    );
    let sub_step = step.max(15.0).round() as u64;
    // The nodes created first, then the first Ready time of those alone (a
    // second request, run while the series are read): the whole cluster's
    // Ready series at every step of a week is the costliest query of all.
    let created_q = promql::nodes_created_over(period, from);
    let launch_reads = async {
        let created = range::instant_by(api, &created_q, "node", to, timeout).await?;
        if created.is_empty() {
            return Ok((created, Vec::new()));
        }
        let names: Vec<String> = created.iter().map(|(n, _)| n.clone()).collect();
        let ready_q = promql::nodes_first_ready_over(period, sub_step, from, Some(&names));
        let ready = range::instant_by(api, &ready_q, "node", to, timeout).await?;
        Ok::<_, crate::cluster::error::Failure>((created, ready))
    };
    let (ranges, pods, launches) = tokio::join!(
        read_series(api, settings, from, to, step, timeout),
        pod_reads,
        launch_reads
    );
    let (ranges, read_from) = match ranges {
        Ok((r, from)) => (Ok(r), Some(from)),
        Err(f) => (Err(f), None),
    };
    let launches = launches
        .map(|(c, r)| launches_of(&c, &r))
        .map_err(|f| f.message);
    let series = ranges
        .map(|mut r| {
            let mut get = |k: &str| r.series.remove(k).unwrap_or_default();
            let mut s = Series {
                sessions: get(promql::SESSIONS),
                running: get(promql::RUNNING_PODS),
                pending: get(promql::PENDING_PODS),
                nodes: get(promql::NODES),
                desired: get(promql::HPA_DESIRED),
                deployment_generation: get(promql::DEPLOYMENT_GENERATION),
                hpa_generation: get(promql::HPA_GENERATION),
                step_secs: r.step_secs,
            };
            s.fill_absent_pods();
            s
        })
        .map_err(|f| f.message);
    let mut values = [0.0; 4];
    let mut pods_err = None;
    let mut created_answered = false;
    for (i, p) in pods.into_iter().enumerate() {
        match p {
            Ok(v) => {
                created_answered |= i == 0 && v.is_some();
                values[i] = v.unwrap_or(0.0)
            }
            Err(f) => pods_err = Some(f.message),
        }
    }
    // No `kube_pod_created` while other pod series show game pods: the
    // series is not collected (a "cannot measure" row, not a gap).
    let pods_seen = values[1] > 0.0
        || series
            .as_ref()
            .is_ok_and(|s| s.running.iter().chain(&s.pending).any(|p| p.1 > 0.0));
    Read {
        series,
        pods: match pods_err {
            Some(e) => Err(e),
            None => Ok(PodCounts {
                created: values[0],
                ready: values[1],
                failed: values[2],
                restarts: values[3],
                creation_series_missing: !created_answered && pods_seen,
            }),
        },
        launches,
        read_from,
    }
}

/// Keeps a read in a snapshot's `prometheus` map, so `--from` can replay it.
pub fn store(snap: &mut Snapshot, read: &Read, since: Timestamp) {
    let answer = |query: &str, samples: Option<Vec<Sample>>, error: Option<String>| PromAnswer {
        query: query.to_string(),
        samples,
        error,
    };
    let points = |v: &[(f64, f64)]| {
        v.iter()
            .map(|&(timestamp, value)| Sample {
                labels: Default::default(),
                value,
                timestamp,
            })
            .collect()
    };
    for (i, (_, key)) in HISTORY_KEYS.iter().enumerate() {
        let a = match &read.series {
            Ok(s) => {
                let v = [
                    &s.sessions,
                    &s.running,
                    &s.pending,
                    &s.nodes,
                    &s.desired,
                    &s.deployment_generation,
                    &s.hpa_generation,
                ][i];
                answer(
                    &format!("since {since}, step {}", s.step_secs),
                    Some(points(v)),
                    None,
                )
            }
            Err(e) => answer("", None, Some(e.clone())),
        };
        snap.prometheus.insert((*key).to_string(), a);
    }
    for (i, key) in POD_KEYS.iter().enumerate() {
        let a = match &read.pods {
            // An absent creation series is kept as an empty answer.
            Ok(p) if i == 0 && p.creation_series_missing => answer("", Some(vec![]), None),
            Ok(p) => {
                let v = [p.created, p.ready, p.failed, p.restarts][i];
                answer(
                    "",
                    Some(vec![Sample {
                        labels: Default::default(),
                        value: v,
                        timestamp: 0.0,
                    }]),
                    None,
                )
            }
            Err(e) => answer("", None, Some(e.clone())),
        };
        snap.prometheus.insert((*key).to_string(), a);
    }
    for (i, key) in LAUNCH_KEYS.iter().enumerate() {
        let a = match &read.launches {
            Ok(l) => answer(
                "",
                Some(
                    l.iter()
                        .filter_map(|l| {
                            let c = l.created_at.as_millisecond() as f64 / 1000.0;
                            let value = if i == 0 { c } else { c + l.ready_seconds? };
                            Some(Sample {
                                labels: [("node".to_string(), l.node.clone())].into(),
                                value,
                                timestamp: 0.0,
                            })
                        })
                        .collect(),
                ),
                None,
            ),
            Err(e) => answer("", None, Some(e.clone())),
        };
        snap.prometheus.insert((*key).to_string(), a);
    }
}

/// The read a snapshot holds; `None` when it was taken without `--history`.
pub fn stored(snap: &Snapshot) -> Option<Read> {
    let first = snap.prometheus.get(HISTORY_KEYS[0].1)?;
    let step = first
        .query
        .rsplit("step ")
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(15.0);
    let series = (|| {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        for (i, (_, key)) in HISTORY_KEYS.iter().enumerate() {
            let Some(a) = snap.prometheus.get(*key) else {
                if i >= REQUIRED_KEYS {
                    out.push(Vec::new());
                    continue;
                }
                return Err(format!("the snapshot has no {key}"));
            };
            if let Some(e) = &a.error {
                return Err(e.clone());
            }
            let mut v: Vec<(f64, f64)> = a
                .samples
                .iter()
                .flatten()
                .map(|s| (s.timestamp, s.value))
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            out.push(v);
        }
        let mut it = out.into_iter();
        let mut next = || it.next().unwrap_or_default();
        Ok(Series {
            sessions: next(),
            running: next(),
            pending: next(),
            nodes: next(),
            desired: next(),
            deployment_generation: next(),
            hpa_generation: next(),
            step_secs: step,
        })
    })();
    let pods = (|| {
        let mut v = [0.0; 4];
        for (i, key) in POD_KEYS.iter().enumerate() {
            let a = snap
                .prometheus
                .get(*key)
                .ok_or_else(|| format!("the snapshot has no {key}"))?;
            if let Some(e) = &a.error {
                return Err(e.clone());
            }
            v[i] = a.scalar().unwrap_or(0.0);
        }
        let missing = snap
            .prometheus
            .get(POD_KEYS[0])
            .is_some_and(|a| a.samples.as_ref().is_some_and(|s| s.is_empty()));
        Ok(PodCounts {
            created: v[0],
            ready: v[1],
            failed: v[2],
            restarts: v[3],
            creation_series_missing: missing,
        })
    })();
    let by_node = |key: &str| -> Result<Vec<(String, f64)>, String> {
        // A snapshot from before node launches were kept has none.
        let Some(a) = snap.prometheus.get(key) else {
            return Ok(Vec::new());
        };
        if let Some(e) = &a.error {
            return Err(e.clone());
        }
        Ok(a.samples
            .iter()
            .flatten()
            .filter_map(|s| Some((s.labels.get("node")?.clone(), s.value)))
            .collect())
    };
    let launches =
        by_node(LAUNCH_KEYS[0]).and_then(|c| Ok(launches_of(&c, &by_node(LAUNCH_KEYS[1])?)));
    Some(Read {
        series,
        pods,
        launches,
        read_from: None,
    })
}

/// The Prometheus client a command that already collected builds again.
async fn prometheus_api(
    global: &crate::cli::GlobalArgs,
    settings: &Settings,
) -> Result<HttpApi, String> {
    match super::connect(global).await {
        Ok((target, _)) => match target.client(settings.request_timeout) {
            Ok(client) => {
                crate::cluster::collect::Sources::new(
                    client,
                    target.context.clone(),
                    target.server.clone(),
                    settings,
                    &crate::process_env,
                )
                .prometheus
            }
            Err(e) => Err(crate::error::chain_text(&e)),
        },
        Err(e) => Err(e.message().to_string()),
    }
}

/// `snapshot --history DURATION`: the period before the snapshot, kept in
/// it for `report --from` and `timeline --from`.
pub async fn add_history(
    global: &crate::cli::GlobalArgs,
    settings: &Settings,
    snap: &mut Snapshot,
    period: &str,
) -> Result<(), Fatal> {
    let since_d = period_arg("history", period)?;
    let until = snap.captured_at;
    let since = since_ts(until, since_d)?;
    let api = prometheus_api(global, settings).await;
    let read = read_history(&api, settings, since, until, 15.0).await;
    store(snap, &read, since);
    Ok(())
}

/// The running pods over the last 30 minutes, as `sessions.flapping`
/// reads them (`diagnose --symptom too-fast`): one sample per 15 s point.
pub async fn running_pods_30m(
    global: &crate::cli::GlobalArgs,
    settings: &Settings,
    end: Timestamp,
) -> PromAnswer {
    let query = promql::running_pods(settings);
    let failed = |e: String| PromAnswer {
        query: query.promql.clone(),
        samples: None,
        error: Some(e),
    };
    let api = prometheus_api(global, settings).await;
    let api = match api {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let to = secs(end);
    let mut read = match range::read(
        &api,
        &[query.clone(), promql::nodes()],
        to - crate::domain::flapping::WINDOW_SECS,
        to,
        15.0,
        settings.request_timeout,
    )
    .await
    {
        Ok(r) => r,
        Err(f) => return failed(f.message),
    };
    let mut series = Series {
        running: read.series.remove(promql::RUNNING_PODS).unwrap_or_default(),
        nodes: read.series.remove(promql::NODES).unwrap_or_default(),
        ..Series::default()
    };
    series.fill_absent_pods();
    PromAnswer {
        query: query.promql,
        samples: Some(
            series
                .running
                .into_iter()
                .map(|(timestamp, value)| Sample {
                    labels: Default::default(),
                    value,
                    timestamp,
                })
                .collect(),
        ),
        error: None,
    }
}

pub(crate) fn since_ts(until: Timestamp, since: Duration) -> Result<Timestamp, Fatal> {
    until
        .checked_sub(jiff::SignedDuration::try_from(since).unwrap_or_default())
        .map_err(|_| Fatal::new("--since reaches before 1970", ""))
}

pub async fn run(
    global: &crate::cli::GlobalArgs,
    args: &ReportArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let since_d = period_arg("since", &args.since)?;
    let step = crate::settings::parse_duration(&args.step)
        .ok()
        .map(|d| d.as_secs_f64())
        .filter(|s| (1.0..=3600.0).contains(s))
        .ok_or_else(|| {
            Fatal::new(
                format!(
                    "--step: {} is not 1s to 1h",
                    crate::error::quote(&args.step)
                ),
                "give a duration such as 15s or 1m",
            )
        })?;
    let (read, settings, since, until, heartbeats) = match &args.from {
        Some(path) => {
            let (snap, settings) = super::status::load_snapshot(global, path)?;
            let read = stored(&snap).ok_or_else(|| {
                Fatal::new(
                    format!("{}: the snapshot holds no history", path.display()),
                    "take it with `kubectl spice snapshot --history 24h -o FILE`",
                )
            })?;
            // The period ends when the snapshot was taken.
            let until = snap.captured_at;
            (read, settings, since_ts(until, since_d)?, until, None)
        }
        None => {
            let (sources, settings) = super::sources(global).await?;
            let now = Timestamp::now();
            let until = until_arg(args.until.as_deref(), now)?;
            let since = since_ts(until, since_d)?;
            let reading = read_history(&sources.prometheus, &settings, since, until, step);
            // Heartbeats per step over the same period (Loki's query_range).
            let hb = async {
                let api = sources.loki.as_ref().ok()?;
                let (from, to) = (secs(since), secs(until));
                let step = crate::cluster::loki::heartbeat_step(to - from);
                match crate::cluster::loki::heartbeat_range(
                    api,
                    &settings.loki_query,
                    settings.loki_tenant.as_deref(),
                    from + step,
                    to,
                    step,
                )
                .await
                {
                    Ok(points) => Some(Ok(Heartbeats {
                        points,
                        start: from + step,
                        step_secs: step,
                    })),
                    // No Loki Service: not configured, not a gap.
                    Err(f)
                        if matches!(
                            f.reason,
                            crate::snapshot::GapReason::NotFound
                                | crate::snapshot::GapReason::NotInstalled
                        ) =>
                    {
                        None
                    }
                    Err(f) => Some(Err(f.message)),
                }
            };
            // KEDA may scale another workload than the configured Deployment
            // (scaleTargetRef), and name its HPA other than `keda-hpa-<name>`:
            // read beside the history, so the usual path costs no round trip;
            // followed, the history is read again by that workload's pod
            // names; renamed, the HPA's two series by the HPA's name.
            let scaled_object =
                crate::cluster::target::read_scaled_object(&sources.kube, &settings);
            let (read, hb, scaled_object) = tokio::join!(reading, hb, scaled_object);
            let mut settings = settings;
            if let Some(name) = scaled_object
                .as_ref()
                .and_then(crate::cluster::target::hpa_name)
            {
                settings.follow_hpa_name(&name);
            }
            let follow = crate::cluster::target::to_follow(&settings, scaled_object.as_ref());
            let read = match follow {
                Some(what) => {
                    let (found, _) =
                        crate::cluster::target::found(&sources.kube, &settings, &what).await;
                    super::follow_target(&mut settings, &found);
                    read_history(&sources.prometheus, &settings, since, until, step).await
                }
                None if settings.hpa_name.is_some() => {
                    reread_hpa(&sources.prometheus, &settings, since, until, step, read).await
                }
                None => read,
            };
            // A multi-tenant Prometheus wants the tenant KEDA's trigger sends.
            let error = read.series.as_ref().err().map(String::as_str);
            let read = match crate::cluster::collect::with_trigger_tenant(
                &sources.kube,
                &sources.prometheus,
                &settings,
                error,
            )
            .await
            {
                Some(api) => read_history(&Ok(api), &settings, since, until, step).await,
                None => read,
            };
            (read, settings, since, until, Some(hb))
        }
    };
    render_report(
        out,
        args.output,
        read,
        &settings,
        since,
        until,
        heartbeats.flatten(),
    )
}

fn render_report(
    out: &mut dyn Write,
    format: HistoryFormat,
    read: Read,
    settings: &Settings,
    since: Timestamp,
    until: Timestamp,
    heartbeats: Option<Result<Heartbeats, String>>,
) -> Result<ExitStatus, Fatal> {
    let hint = read.rules_hint(secs(until) - secs(since));
    let read_from = read.read_from;
    // The series are moved, not copied: a week is 7 × 40,321 points.
    let (series, unread) = match read.series {
        Ok(s) => (s, None),
        Err(e) => (Series::default(), Some(e)),
    };
    let inputs = Inputs {
        since,
        until,
        series,
        pods: read.pods,
        heartbeats,
        launches: read.launches,
        targets: settings.targets,
        bands: settings.bands,
    };
    let mut report = history::build(&inputs);
    report.read_from = read_from;
    report.notes.extend(hint.map(String::from));
    let series = inputs.series;
    if let Some(e) = &unread {
        report.unread.insert(0, format!("Prometheus history: {e}"));
        report.incomplete = true;
        for m in &mut report.metrics {
            if !matches!(m.id, "podSuccess" | "heartbeats") {
                m.verdict = history::Verdict::Unknown;
                m.shown = "could not be read".into();
            }
        }
        report.failed = report
            .metrics
            .iter()
            .any(|m| m.verdict == history::Verdict::Fail);
    }
    match format {
        HistoryFormat::Text => history::render::report_text(out, &report)?,
        HistoryFormat::Json => crate::report::write_data(out, &report, crate::cli::Output::Json)?,
        HistoryFormat::Markdown => history::render::report_markdown(out, &report)?,
        HistoryFormat::Html => history::html::report_html(out, &report, &series)?,
    }
    out.flush()?;
    if report.incomplete && format != HistoryFormat::Text {
        let mut err = crate::report::text::SafeWriter::new(std::io::stderr().lock());
        let _ = writeln!(err, "incomplete: {}", report.unread.join("; "));
    }
    Ok(ExitStatus::verdict(report.failed, report.incomplete))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_days_weeks_and_durations_and_refuse_the_absurd() {
        assert_eq!(
            period_arg("since", "7d").ok(),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(
            period_arg("since", "1w").ok(),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(
            period_arg("since", "24h").ok(),
            Some(Duration::from_secs(86_400))
        );
        assert!(period_arg("since", "90d").is_err());
        assert!(period_arg("since", "-1d").is_err());
        assert!(period_arg("since", "soon").is_err());
        assert!(period_arg("since", "10s").is_err());
    }

    /// A ScaledObject that names its HPA changes only the history queries
    /// `reread_hpa` reads again: the others keep their answers.
    #[test]
    fn the_history_queries_naming_the_hpa_are_the_ones_read_again() {
        let default = Settings::defaults();
        let mut renamed = Settings::defaults();
        assert!(renamed.follow_hpa_name("spice-game-hpa"));
        let mut changed: Vec<&str> = history_queries(&renamed)
            .iter()
            .zip(history_queries(&default).iter())
            .filter(|(a, b)| a.promql != b.promql)
            .map(|(a, _)| a.key)
            .collect();
        changed.sort_unstable();
        let mut reread: Vec<&str> = hpa_queries(&renamed).iter().map(|q| q.key).collect();
        reread.sort_unstable();
        assert_eq!(changed, reread);
        for q in hpa_queries(&renamed) {
            assert!(
                q.promql
                    .contains(r#"horizontalpodautoscaler="spice-game-hpa""#),
                "{}",
                q.promql
            );
        }
    }

    fn read_with(from: Option<history::ReadFrom>) -> Read {
        Read {
            series: Err(String::new()),
            pods: Err(String::new()),
            launches: Err(String::new()),
            read_from: from,
        }
    }

    #[test]
    fn the_sources_line_says_what_was_recorded_since_when_and_hints_when_it_helps() {
        let t0 = 1_796_000_000.0;
        let day = 86_400.0;
        // Rules never installed: said, and a week earns the hint.
        let none = read_from(None, &[(t0, t0 + 7.0 * day)], 2.0, 15.0);
        assert!(
            none.pods
                .contains("no recording rule spice:game_pods_running:sum")
        );
        assert!(none.recording_rules.is_empty());
        let r = read_with(Some(none.clone()));
        assert_eq!(r.rules_hint(7.0 * day), Some(RULES_HINT));
        assert!(RULES_HINT.contains("kubectl spice alerts | kubectl apply -f -"));
        // An hour read fast: no hint; read slowly: the hint.
        assert_eq!(r.rules_hint(3600.0), None);
        let slow = read_from(None, &[(t0, t0 + 3600.0)], 6.0, 15.0);
        assert_eq!(read_with(Some(slow)).rules_hint(3600.0), Some(RULES_HINT));
        // Installed two days ago: since when, before that raw.
        let since = t0 + 5.0 * day;
        let part = read_from(Some(since), &[(t0, since - 15.0)], 1.0, 15.0);
        assert_eq!(
            part.pods,
            "running and pending pods from the recording rules spice:game_pods_running:sum and spice:game_pods_pending:sum since 2026-12-05 00:53 UTC, before that from kube_pod_status_phase"
        );
        assert_eq!(
            part.recorded_since.map(|t| t.as_second()),
            Some(since as i64)
        );
        assert_eq!(part.raw.len(), 1);
        // Fast enough: no hint; slow: the backfill hint, not the install one.
        assert_eq!(read_with(Some(part)).rules_hint(7.0 * day), None);
        let slow = read_from(Some(since), &[(t0, since - 15.0)], 30.0, 15.0);
        assert_eq!(
            read_with(Some(slow)).rules_hint(7.0 * day),
            Some(BACKFILL_HINT)
        );
        // A gap in the middle: counted.
        let gap = read_from(Some(t0), &[(t0 + day, t0 + day + 585.0)], 0.5, 15.0);
        assert!(
            gap.pods.contains("(1 stretch, 10 min in all)"),
            "{}",
            gap.pods
        );
        // Everything recorded: no raw part, no hint.
        let all = read_from(Some(t0), &[], 0.0, 15.0);
        assert_eq!(
            all.pods,
            "running and pending pods from the recording rules spice:game_pods_running:sum and spice:game_pods_pending:sum"
        );
        assert_eq!(read_with(Some(all)).rules_hint(30.0 * day), None);
        // Replayed: nothing to say.
        assert_eq!(read_with(None).rules_hint(7.0 * day), None);
    }

    #[test]
    fn until_is_a_time_or_a_duration_before_now() {
        let now: Timestamp = "2026-12-07T04:00:00Z".parse().unwrap_or_default();
        assert_eq!(until_arg(None, now).ok(), Some(now));
        assert_eq!(
            until_arg(Some("2h"), now).ok().map(|t| t.to_string()),
            Some("2026-12-07T02:00:00Z".into())
        );
        assert_eq!(
            until_arg(Some("2026-12-06T00:00:00Z"), now)
                .ok()
                .map(|t| t.to_string()),
            Some("2026-12-06T00:00:00Z".into())
        );
        assert!(until_arg(Some("yesterday"), now).is_err());
    }
}
