//! `kubectl spice test single|multi|load`: the runbook's "Testing Scenarios"
//! run with synthetic sessions, measured from the watch streams `watch` uses
//! (`cluster::live`) and judged by the pure `loadtest` module. When a verdict
//! fails, the matching `diagnose --symptom` chain runs on a snapshot of that
//! moment and its root cause is printed beside the verdict.
//!
//! Safety: it only sends GET requests and reads, except `--scale-to-zero
//! --yes`, which patches the scale of the workload the ScaledObject scales
//! (`write`: its Deployment or StatefulSet) and puts it back on exit.

mod write;

use super::watch::duration_arg;
use crate::checks::{self, Outcome as CheckOutcome, Selection};
use crate::cluster::client::KubeTarget;
use crate::cluster::collect::{self, Scope, Sources};
use crate::cluster::live::Live;
use crate::cluster::promql;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::loadtest::driver::{Sessions, Sink, Target};
use crate::loadtest::render::{self, clean};
use crate::loadtest::{Kind, Plan, Result as RunResult, RootCause, ScaleReport, Test, TestReport};
use crate::settings::{DurationRange, ServiceRef, Settings, redact_url, show_duration};
use crate::snapshot::Snapshot;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use std::io::{IsTerminal, Write};
use std::time::Duration;
use tokio::time::Instant;
use write::Workload;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// single: 1 session → 1 pod within 30s, Running by 45s, gone by 120s after it
    /// stops; multi: baseline + N pods (where the HPA holds them); load: N sessions for --duration.
    #[arg(value_enum)]
    pub kind: TestKind,
    /// Synthetic sessions [default: single 1, multi 5, load 30].
    #[arg(long, value_name = "N")]
    pub sessions: Option<usize>,
    /// Load: how long the sessions send [default: 3m].
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Requests per second of each session (the rate KEDA's threshold 1 assumes).
    #[arg(long, value_name = "PER_SECOND", default_value_t = 1.0)]
    pub rate: f64,
    /// Spread the sessions' start over this long (each session also sends at
    /// its own phase within its period, so sessions never tick in lockstep).
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub ramp: String,
    /// Send to this URL (the game's public address) instead of the service proxy.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The game's nginx Service, reached through the API server's proxy
    /// [default: NAMESPACE/<nginx service>:80].
    #[arg(long, value_name = "NS/SVC:PORT", conflicts_with = "url")]
    pub service: Option<String>,
    /// Single: wait this long for 0 pods and no sessions before starting.
    #[arg(long, value_name = "DURATION", default_value = "3m")]
    pub settle: String,
    /// Single: a pod must exist this long after the session starts.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub pod_within: String,
    /// Single: the pod must be Running this long after the session starts.
    #[arg(long, value_name = "DURATION", default_value = "45s")]
    pub running_within: String,
    /// Multi: baseline + N pods this long after the sessions start.
    #[arg(long, value_name = "DURATION", default_value = "3m")]
    pub within: String,
    /// The pods must be gone (back to baseline) this long after the sessions stop.
    #[arg(long, value_name = "DURATION", default_value = "120s")]
    pub gone_within: String,
    /// Load: pods within this many percent of the sessions.
    #[arg(long, value_name = "PERCENT", default_value_t = 17.0)]
    pub tolerance: f64,
    /// Load: how long a pod may be Unschedulable before a node must be coming.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub pending_grace: String,
    /// Refuse to start when the game already has more sessions than this (unless --yes).
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub max_baseline: f64,
    /// Hard cap on requests per second, over all sessions (in any one second).
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    pub max_rps: f64,
    /// sessions.delivered: at least this many percent of the planned requests
    /// must reach the game (answered 2xx/3xx); it fails the run otherwise.
    #[arg(long, value_name = "PERCENT", default_value_t = 90.0)]
    pub min_delivered: f64,
    /// sessions.delivered: errors must stay under this many percent of the
    /// answers (0: no error at all).
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0)]
    pub max_errors: f64,
    /// Scale the Deployment (or StatefulSet) the ScaledObject scales to 0 first
    /// (needs patch on its /scale and --yes); the replica count is put back on exit.
    #[arg(long)]
    pub scale_to_zero: bool,
    /// Confirm --scale-to-zero, or start above --max-baseline.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan and what a real run would find, and exit: no session,
    /// no write. Exit 0 when a real run would start, 1 when it would refuse
    /// (or could not deliver its sessions).
    #[arg(long)]
    pub dry_run: bool,
    /// Report format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = TestFormat::Text)]
    pub output: TestFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestKind {
    Single,
    Multi,
    Load,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Text,
    Json,
    Junit,
    Markdown,
}

/// `--duration`, `--settle` and the deadlines: at least a second (the
/// progress loop's granularity is a quarter of one), at most a day.
const TEST_DURATION_RANGE: DurationRange =
    DurationRange::new(Duration::from_secs(1), Duration::from_secs(86_400));
/// `--ramp`: 0 starts every session within its first period (at its own
/// phase); an hour is already absurd.
const RAMP_RANGE: DurationRange = DurationRange::new(Duration::ZERO, Duration::from_secs(3600));
/// At most this many sessions, whatever the rate cap allows, and at most
/// this many requests a second over all of them (`--max-rps`): what the
/// driver holds on one core with the latency it reports still the game's,
/// measured with `loadtest::driver_ceiling` (README, `test`). Beyond, a
/// dedicated load generator (k6, as the runbook uses) takes over.
const MAX_SESSIONS: usize = 5_000;
const MAX_RPS: f64 = 20_000.0;
/// Below this many sessions seen, the game counts as idle (the nginx rate
/// includes the exporter's own scrapes, a fraction of a request per second).
const IDLE_SESSIONS: f64 = 0.5;

/// Checks every flag before anything is sent or read; returns the plan
/// (with the target still to fill in).
fn plan_from(args: &TestArgs, settings: &Settings) -> Result<Plan, Fatal> {
    let kind = match args.kind {
        TestKind::Single => Kind::Single,
        TestKind::Multi => Kind::Multi,
        TestKind::Load => Kind::Load,
    };
    let sessions = args.sessions.unwrap_or(match kind {
        Kind::Single => 1,
        Kind::Multi => 5,
        Kind::Load => 30,
    });
    if sessions == 0 || sessions > MAX_SESSIONS {
        return Err(Fatal::new(
            format!("--sessions {sessions} is out of range"),
            format!(
                "use 1 to {}; for more, a dedicated load generator (k6) is the tool",
                crate::report::num(MAX_SESSIONS as f64)
            ),
        ));
    }
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 50.0) {
        return Err(Fatal::new(
            format!("--rate {} is out of range", args.rate),
            "use a rate above 0 and at most 50 requests per second per session (default 1)",
        ));
    }
    if !(args.max_rps.is_finite() && args.max_rps >= 1.0 && args.max_rps <= MAX_RPS) {
        return Err(Fatal::new(
            format!("--max-rps {} is out of range", args.max_rps),
            format!(
                "use 1 to {}; for more, a dedicated load generator (k6) is the tool",
                crate::report::num(MAX_RPS)
            ),
        ));
    }
    let wanted = sessions as f64 * args.rate;
    if wanted > args.max_rps {
        return Err(Fatal::new(
            format!(
                "{sessions} sessions at {} req/s is {} req/s, over the --max-rps cap of {}",
                crate::report::num(args.rate),
                crate::report::num(wanted),
                crate::report::num(args.max_rps)
            ),
            "lower --sessions or --rate, or raise --max-rps if the game can take it",
        ));
    }
    if !(args.tolerance.is_finite() && args.tolerance > 0.0 && args.tolerance < 100.0) {
        return Err(Fatal::new(
            format!("--tolerance {} is out of range", args.tolerance),
            "give a percentage above 0 and below 100 (default 17)",
        ));
    }
    if !(args.min_delivered.is_finite() && (0.0..=100.0).contains(&args.min_delivered)) {
        return Err(Fatal::new(
            format!("--min-delivered {} is out of range", args.min_delivered),
            "give a percentage from 0 to 100 (default 90)",
        ));
    }
    if !(args.max_errors.is_finite() && (0.0..=100.0).contains(&args.max_errors)) {
        return Err(Fatal::new(
            format!("--max-errors {} is out of range", args.max_errors),
            "give a percentage from 0 to 100 (default 1)",
        ));
    }
    if !(args.max_baseline.is_finite() && args.max_baseline >= 0.0) {
        return Err(Fatal::new(
            format!("--max-baseline {} is out of range", args.max_baseline),
            "give a number of sessions, 0 or more (default 10)",
        ));
    }
    if args.scale_to_zero && !args.yes && !args.dry_run {
        return Err(Fatal::new(
            "--scale-to-zero writes to the cluster: it needs --yes",
            "add --yes to scale the Deployment to 0 (the replica count is put back on exit)",
        ));
    }
    let duration = match &args.duration {
        Some(d) => duration_arg("duration", d, TEST_DURATION_RANGE)?,
        None => Duration::from_secs(180),
    };
    let ramp = duration_arg("ramp", &args.ramp, RAMP_RANGE)?;
    if kind == Kind::Load && ramp >= duration {
        return Err(Fatal::new(
            format!(
                "--ramp {} is not shorter than --duration {}: some sessions would never start",
                args.ramp,
                show_duration(duration)
            ),
            "give a ramp well inside the duration, e.g. --ramp 10s --duration 3m",
        ));
    }
    let f = |flag, v: &str| duration_arg(flag, v, TEST_DURATION_RANGE).map(|d| d.as_secs_f64());
    Ok(Plan {
        kind,
        sessions,
        rate_per_session: args.rate,
        duration_seconds: duration.as_secs_f64(),
        ramp_seconds: ramp.as_secs_f64(),
        target: String::new(),
        pod_within_seconds: f("pod-within", &args.pod_within)?,
        running_within_seconds: f("running-within", &args.running_within)?,
        within_seconds: f("within", &args.within)?,
        gone_within_seconds: f("gone-within", &args.gone_within)?,
        scale_up_target_seconds: settings.targets.scale_up_seconds,
        scale_down_target_seconds: settings.targets.scale_down_seconds,
        tolerance: args.tolerance / 100.0,
        green_min: settings.bands.green_min,
        green_max: settings.bands.green_max,
        pending_grace_seconds: f("pending-grace", &args.pending_grace)?,
        max_requests_per_second: args.max_rps,
        settle_seconds: (kind == Kind::Single)
            .then(|| f("settle", &args.settle))
            .transpose()?,
        min_delivered: args.min_delivered / 100.0,
        max_errors: args.max_errors / 100.0,
    })
}

/// The nginx Service the sessions go to without `--url`.
fn service_ref(args: &TestArgs, settings: &Settings) -> Result<ServiceRef, Fatal> {
    let text = args
        .service
        .clone()
        .unwrap_or_else(|| format!("{}/{}:80", settings.namespace, settings.nginx_service));
    ServiceRef::parse(&text).map_err(|e| {
        Fatal::new(
            format!("--service: {e}"),
            "e.g. default/spice-runner-nginx:80",
        )
    })
}

/// Where the sessions send: `--url` exactly as given (path and query kept,
/// no redirect followed: a 3xx is the game's answer), else the nginx Service
/// through the API server's proxy with the user's own credentials.
fn sink(
    args: &TestArgs,
    settings: &Settings,
    kube: &kube::Client,
    plan: &Plan,
) -> Result<Target, Fatal> {
    let timeout = settings.request_timeout.min(Duration::from_secs(10));
    let (sink, describe) = match &args.url {
        Some(u) => {
            let parsed = url::Url::parse(u)
                .ok()
                .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
            let Some(url) = parsed else {
                return Err(Fatal::new(
                    format!("--url {} is not an http(s) URL", redact_url(u)),
                    "give the game's address, e.g. https://game.example.com/spice/",
                ));
            };
            let http = reqwest::Client::builder()
                .connect_timeout(timeout)
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("kubectl-spice/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    Fatal::new(
                        format!("cannot send sessions: {}", crate::error::chain_text(&e)),
                        "",
                    )
                })?;
            (Sink::Url { http, url }, redact_url(u))
        }
        None => {
            let service = service_ref(args, settings)?;
            let port = if service.port.is_empty() {
                String::new()
            } else {
                format!(":{}", service.port)
            };
            let uri = format!(
                "/api/v1/namespaces/{}/services/{}{port}/proxy/",
                service.namespace, service.name
            );
            (
                Sink::Proxy {
                    kube: kube.clone(),
                    uri,
                },
                format!("service {service} (via the API server proxy)"),
            )
        }
    };
    Ok(Target {
        sink,
        describe,
        per_session_rate: plan.rate_per_session,
        max_per_second: plan.max_requests_per_second,
        request_timeout: timeout,
    })
}

pub async fn run(
    global: &crate::cli::GlobalArgs,
    args: &TestArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    // Flags that need no settings are checked before anything is read.
    plan_from(args, &Settings::defaults())?;
    let (target, mut settings) = super::connect(global).await?;
    let mut plan = plan_from(args, &settings)?;
    let client = target.client(settings.request_timeout)?;
    let sessions_to = sink(args, &settings, &client, &plan)?;
    plan.target = sessions_to.describe.clone();
    let sources = Sources::new(
        client.clone(),
        target.context.clone(),
        target.server.clone(),
        &settings,
        &crate::process_env,
    );
    let base = collect::run(&sources, &settings, jiff::Timestamp::now(), Scope::Status).await?;
    // The test watches, judges and (with --scale-to-zero) writes the
    // workload the ScaledObject scales, as every read command follows it.
    super::follow_scale_target(&mut settings, &base);
    let workload = args
        .scale_to_zero
        .then(|| write::workload(&settings, base.scaled_object.as_ref()));
    let seen = base.prom_value(promql::SESSIONS);
    let pods_now = base.pods.as_ref().map(Vec::len);
    if args.dry_run {
        let checks = dry_run_checks(
            args,
            &plan,
            &settings,
            &client,
            seen,
            pods_now,
            workload.as_ref(),
        )
        .await;
        let text = match args.output {
            TestFormat::Json => dry_run_json(&plan, seen, pods_now, &checks)?,
            _ => dry_run_text(&plan, seen, pods_now, args, workload.as_ref(), &checks),
        };
        out.write_all(text.as_bytes())?;
        return Ok(if checks.iter().all(|c| c.ok) {
            ExitStatus::Ok
        } else {
            ExitStatus::Findings
        });
    }
    // A write that would not go to the workload KEDA scales is refused
    // before anything else is checked or written.
    let workload = workload.transpose()?;
    guard_baseline(args, seen, &sources)?;
    // Everything that can fail without writing is done before the scale-down,
    // so an error there never leaves the Deployment at 0. The signal
    // handlers are in place before the first PATCH: from here on a signal
    // only ends the test, and the count is put back before the exit.
    let watch_client = target.watch_client(settings.request_timeout)?;
    let stop = listen_for_stop();
    let ctx = Ctx {
        settings: &settings,
        sources: &sources,
        base: &base,
        yes: args.yes,
        scale_to_zero: args.scale_to_zero,
        stop,
    };
    let mut restore = None;
    let result = if let Some(workload) = &workload {
        match scale_down(&client, &settings, workload).await {
            ScaleDown::Unchanged => execute(&ctx, plan, sessions_to, watch_client).await,
            ScaleDown::Down(from) => {
                restore = Some(from);
                execute(&ctx, plan, sessions_to, watch_client).await
            }
            ScaleDown::Refused(fatal) => Err(fatal),
            ScaleDown::MaybeApplied { from, fatal } => {
                restore = Some(from);
                Err(fatal)
            }
        }
    } else {
        execute(&ctx, plan, sessions_to, watch_client).await
    };
    let scale = match (restore, &workload) {
        (Some(from), Some(workload)) => Some(put_back(&target, &settings, workload, from).await),
        _ => None,
    };
    // A failed put-back fails the run, whatever else happened: exit 2, the
    // count it was left at and the command that puts it back.
    let put_back_failed = scale.as_ref().and_then(|sc| {
        sc.failure()
            .map(|f| (f, format!("run: {}", sc.command.as_deref().unwrap_or(""))))
    });
    let report = match (result, put_back_failed.clone()) {
        (Ok(report), _) => report,
        (Err(fatal), None) => return Err(fatal),
        (Err(fatal), Some((failure, hint))) => {
            let message = match fatal.message() {
                "" => failure,
                first => format!("{first}; and {failure}"),
            };
            return Err(Fatal::new(message, hint));
        }
    };
    let report = TestReport {
        context: target.context.clone(),
        scale,
        ..report
    };
    let written = write_report(out, &report, args.output, &settings);
    if let Some((failure, hint)) = put_back_failed {
        return Err(Fatal::new(failure, hint));
    }
    written?;
    // An interrupted run stays a failure (1): it judged less than asked.
    Ok(match report.result {
        RunResult::Pass => ExitStatus::Ok,
        RunResult::Fail | RunResult::Interrupted => ExitStatus::Findings,
        RunResult::Incomplete => ExitStatus::verdict(false, true),
    })
}

fn write_report(
    out: &mut dyn Write,
    r: &TestReport,
    format: TestFormat,
    settings: &Settings,
) -> Result<(), Fatal> {
    let text = match format {
        TestFormat::Text => {
            let st = crate::report::Styles::decide(
                settings.color,
                &crate::process_env,
                std::io::stdout().is_terminal(),
            );
            render::text(r, &st)
        }
        TestFormat::Json => {
            serde_json::to_string_pretty(r)
                .map_err(|e| Fatal::new(format!("writing output: {e}"), ""))?
                + "\n"
        }
        TestFormat::Junit => render::junit(r),
        TestFormat::Markdown => render::markdown(r),
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Refuses to load a game that is already busy (production peak), unless
/// --yes. With --scale-to-zero the guard always holds: --yes confirms the
/// scale-down, and must not also drop every player at peak; a busier game
/// needs an explicit, higher --max-baseline.
fn guard_baseline(args: &TestArgs, seen: Option<f64>, sources: &Sources) -> Result<(), Fatal> {
    if args.yes && !args.scale_to_zero {
        return Ok(());
    }
    let or_yes = if args.scale_to_zero {
        " (--yes does not skip this check with --scale-to-zero)"
    } else {
        ", or add --yes"
    };
    match seen {
        Some(s) if s > args.max_baseline => Err(Fatal::new(
            format!(
                "the game already has {} sessions, more than --max-baseline {}",
                crate::report::num(s),
                crate::report::num(args.max_baseline)
            ),
            format!("run the test when the game is quieter, or raise --max-baseline{or_yes}"),
        )),
        Some(_) => Ok(()),
        None => Err(Fatal::new(
            format!(
                "cannot tell how busy the game is: Prometheus ({}) did not answer the sessions query",
                match &sources.prometheus {
                    Ok(api) => api.describe(),
                    Err(e) => e.clone(),
                }
            ),
            format!("fix the Prometheus connection (kubectl spice status shows it){or_yes}"),
        )),
    }
}

/// One thing a dry run checked: what a real run would meet before it starts.
struct DryCheck {
    /// A real run would get past it.
    ok: bool,
    message: String,
}

fn check(ok: bool, message: String) -> DryCheck {
    DryCheck { ok, message }
}

/// What a real run checks before it sends, checked now with reads only:
/// the busy-game guard, `--scale-to-zero`'s confirmation and whether the
/// scale is readable, single's settling, and whether the nginx Service has
/// ready endpoints (nothing is sent to the game: `--url` is not probed).
async fn dry_run_checks(
    args: &TestArgs,
    plan: &Plan,
    settings: &Settings,
    kube: &kube::Client,
    seen: Option<f64>,
    pods: Option<usize>,
    workload: Option<&Result<Workload, Fatal>>,
) -> Vec<DryCheck> {
    let n = crate::report::num;
    let mut checks = Vec::new();
    checks.push(match seen {
        _ if args.yes && !args.scale_to_zero => {
            check(true, "the busy-game guard is skipped (--yes)".into())
        }
        Some(s) if s > args.max_baseline => check(
            false,
            format!(
                "the game has {} sessions, more than --max-baseline {}: a real run would refuse",
                n(s),
                n(args.max_baseline)
            ),
        ),
        Some(s) => check(
            true,
            format!(
                "the game has {} sessions, at most --max-baseline {}",
                n(s),
                n(args.max_baseline)
            ),
        ),
        None => check(
            false,
            "Prometheus did not say how busy the game is: a real run would refuse (add --yes to start anyway)"
                .into(),
        ),
    });
    if let Some(workload) = workload {
        if !args.yes {
            checks.push(check(
                false,
                "--scale-to-zero writes to the cluster: a real run would refuse without --yes"
                    .into(),
            ));
        }
        checks.push(match workload {
            Err(refused) => check(
                false,
                format!(
                    "{} (a real run would refuse; hint: {})",
                    refused.message(),
                    refused.hint().unwrap_or("")
                ),
            ),
            Ok(w) => {
                let name = format!("{} {}/{}", w.word(), settings.namespace, w.name());
                match w.api(kube, &settings.namespace).get_scale(w.name()).await {
                    Ok(scale) => check(
                        true,
                        format!(
                            "the scale of {} is readable ({} replicas now)",
                            clean(&name),
                            scale.spec.and_then(|s| s.replicas).unwrap_or(0)
                        ),
                    ),
                    Err(e) => check(
                        false,
                        format!(
                            "cannot read the scale of {}: {}",
                            clean(&name),
                            clean(&crate::error::chain_text(&e))
                        ),
                    ),
                }
            }
        });
    }
    if let Some(settle) = plan.settle_seconds {
        let idle = pods == Some(0) && seen.is_some_and(|s| s < IDLE_SESSIONS);
        let now = format!(
            "{} pod(s) and {} session(s)",
            pods.map_or("?".into(), |p| p.to_string()),
            seen.map_or("?".into(), n)
        );
        checks.push(check(
            true,
            if idle {
                format!("the game is idle ({now}): the session would start at once")
            } else if args.scale_to_zero {
                format!(
                    "the game has {now} now: a real run would scale it to 0 first, then wait up to --settle {} for 0 pods and no sessions",
                    dur(settle)
                )
            } else {
                format!(
                    "the game has {now} now: a real run would wait up to --settle {} for 0 pods and no sessions, and refuse if they stay",
                    dur(settle)
                )
            },
        ));
    }
    if args.url.is_some() {
        checks.push(check(
            true,
            format!(
                "{} is not checked: a dry run sends nothing to the game",
                clean(&plan.target)
            ),
        ));
    } else if let Ok(service) = service_ref(args, settings) {
        checks.push(endpoints_check(kube, &service).await);
    }
    checks
}

/// Whether the nginx Service exists and has ready endpoints (reads only):
/// without them every session request fails with the API server's 503.
async fn endpoints_check(kube: &kube::Client, service: &ServiceRef) -> DryCheck {
    use k8s_openapi::api::core::v1::{Endpoints, Service};
    let name = clean(&format!("{}/{}", service.namespace, service.name));
    let services: kube::Api<Service> = kube::Api::namespaced(kube.clone(), &service.namespace);
    match services.get_opt(&service.name).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return check(
                false,
                format!("service {name} does not exist: every session request would fail"),
            );
        }
        Err(e) => {
            return check(
                true,
                format!(
                    "could not read service {name}: {} (not checked)",
                    clean(&crate::error::chain_text(&e))
                ),
            );
        }
    }
    let endpoints: kube::Api<Endpoints> = kube::Api::namespaced(kube.clone(), &service.namespace);
    match endpoints.get_opt(&service.name).await {
        Ok(found) => {
            let subsets = found.and_then(|e| e.subsets).unwrap_or_default();
            let count = |f: fn(&k8s_openapi::api::core::v1::EndpointSubset) -> usize| {
                subsets.iter().map(f).sum::<usize>()
            };
            let ready = count(|s| s.addresses.as_ref().map_or(0, Vec::len));
            let not_ready = count(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len));
            if ready > 0 {
                check(
                    true,
                    format!("service {name} has {ready} ready endpoint(s)"),
                )
            } else {
                check(
                    false,
                    format!(
                        "service {name} has no ready endpoints ({not_ready} not ready): every session request would fail with \"no endpoints available\""
                    ),
                )
            }
        }
        Err(e) => check(
            true,
            format!(
                "could not read the endpoints of service {name}: {} (not checked)",
                clean(&crate::error::chain_text(&e))
            ),
        ),
    }
}

fn dry_run_text(
    plan: &Plan,
    seen: Option<f64>,
    pods: Option<usize>,
    args: &TestArgs,
    workload: Option<&Result<Workload, Fatal>>,
    checks: &[DryCheck],
) -> String {
    let n = crate::report::num;
    let mut s = format!("Dry run: kubectl spice test {} would\n", plan.kind.name());
    match workload {
        Some(Ok(w)) => s.push_str(&format!(
            "  - scale the {} to 0 (a write; needs --yes{}) and put its replica count back on exit\n",
            w.kind(),
            if args.yes { ", given" } else { ", not given: a real run would refuse" }
        )),
        Some(Err(_)) => s.push_str(
            "  - refuse --scale-to-zero: the ScaledObject's target is not a workload it writes (✗ below)\n",
        ),
        None => {}
    }
    if let Some(settle) = plan.settle_seconds {
        s.push_str(&format!(
            "  - wait up to {} for 0 pods and no sessions (--settle)\n",
            dur(settle)
        ));
    }
    s.push_str(&format!(
        "  - start {} session(s) at {} req/s each ({}, cap {} req/s in all) to {}\n",
        plan.sessions,
        n(plan.rate_per_session),
        if plan.ramp_seconds > 0.0 {
            format!("spread over --ramp {}", dur(plan.ramp_seconds))
        } else {
            "all at once".to_string()
        },
        n(plan.max_requests_per_second),
        clean(&plan.target)
    ));
    for (id, expect, _) in crate::loadtest::expectations(plan) {
        s.push_str(&format!("  - judge {id}: {expect}\n"));
    }
    s.push_str(&format!(
        "  - take up to about {} once the sessions start\n",
        dur(planned(plan))
    ));
    s.push_str(&format!(
        "Now: {} pod(s), {} session(s) seen.\n",
        pods.map_or("?".into(), |p| p.to_string()),
        seen.map_or("?".into(), n),
    ));
    for c in checks {
        s.push_str(&format!(
            "  {} {}\n",
            if c.ok { "✓" } else { "✗" },
            c.message
        ));
    }
    s.push_str(if checks.iter().all(|c| c.ok) {
        "A real run would start. Nothing was sent.\n"
    } else {
        "A real run would refuse, or fail at once (✗ above). Nothing was sent.\n"
    });
    s
}

/// `--dry-run -o json`: `kind: TestPlan`, the plan, the verdicts it would
/// judge and what was checked.
fn dry_run_json(
    plan: &Plan,
    seen: Option<f64>,
    pods: Option<usize>,
    checks: &[DryCheck],
) -> Result<String, Fatal> {
    let verdicts: Vec<serde_json::Value> = crate::loadtest::expectations(plan)
        .into_iter()
        .map(|(id, expect, symptom)| serde_json::json!({"id": id, "expect": expect, "symptom": symptom}))
        .collect();
    let checked: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| serde_json::json!({"ok": c.ok, "message": c.message}))
        .collect();
    let doc = serde_json::json!({
        "apiVersion": crate::snapshot::API_VERSION,
        "kind": "TestPlan",
        "plan": plan,
        "verdicts": verdicts,
        "podsNow": pods,
        "sessionsNow": seen,
        "checks": checked,
        "wouldStart": checks.iter().all(|c| c.ok),
    });
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .map_err(|e| Fatal::new(format!("writing output: {e}"), ""))
}

/// What the run loop needs besides the plan.
struct Ctx<'a> {
    settings: &'a Settings,
    sources: &'a Sources,
    base: &'a Snapshot,
    yes: bool,
    /// `--scale-to-zero` was given (a settle hint does not suggest it again).
    scale_to_zero: bool,
    /// Set once Ctrl-C or SIGTERM arrived; stays set.
    stop: tokio::sync::watch::Receiver<bool>,
}

/// Listens for Ctrl-C, SIGTERM, SIGHUP (a closed terminal) and SIGQUIT from
/// before the first write, so a signal that arrives while the Deployment is
/// scaled down still ends in the replica count being put back. The handlers
/// are installed here, synchronously (an async listener installs its handler
/// only when first polled, and a signal before that would kill the process);
/// the flag stays set for every later wait, and later signals are absorbed
/// until the put-back is done.
fn listen_for_stop() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term), Ok(mut hup), Ok(mut quit)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::quit()),
        ) {
            tokio::spawn(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                    _ = quit.recv() => {}
                }
                tx.send_replace(true);
                // Keep the handlers (and so the signals' dispositions) for
                // the rest of the run.
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                        _ = hup.recv() => {}
                        _ = quit.recv() => {}
                    }
                }
            });
            return rx;
        }
    }
    tokio::spawn(async move {
        super::watch::stop_requested().await;
        tx.send_replace(true);
    });
    rx
}

/// The sessions Prometheus sees in a live snapshot.
fn seen(snap: &Snapshot) -> Option<f64> {
    snap.prom_value(promql::SESSIONS)
}

/// Runs the test: settle (single), sessions, observe until every verdict is
/// judged or Ctrl-C; returns the report (partial when interrupted).
async fn execute(
    ctx: &Ctx<'_>,
    plan: Plan,
    sessions_to: Target,
    watch_client: kube::Client,
) -> Result<TestReport, Fatal> {
    let settings = ctx.settings;
    let mut live = Live::start(
        watch_client.clone(),
        ctx.sources.prometheus.clone(),
        vec![promql::sessions(settings)],
        settings,
        Duration::from_secs(1),
    );
    if ctx.base.apis.karpenter == Some(true) {
        let version = ctx.base.apis.karpenter_version.as_deref().unwrap_or("v1");
        live.watch_node_claims(watch_client, version);
    }
    let mut changes = live.changes();
    let ready_by = Instant::now() + settings.request_timeout;
    while !live.ready() && Instant::now() < ready_by {
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    if let Some(e) = live.api_error() {
        return Err(Fatal::new(
            format!("cannot watch the game: {}", clean(&e)),
            "the test needs list and watch on pods and nodes",
        ));
    }
    let mut progress = Progress::new();
    if let Some(settle) = plan.settle_seconds {
        wait_until_idle(ctx, &live, settle, &mut progress).await?;
    }
    let mut stop = ctx.stop.clone();
    if *stop.borrow() {
        progress.finish();
        return Err(Fatal::new("interrupted before any session was sent", ""));
    }
    let at = jiff::Timestamp::now();
    let snap = live.snapshot(ctx.base, settings, at);
    let count = plan.sessions;
    let ramp = Duration::from_secs_f64(plan.ramp_seconds);
    let mut test = Test::new(plan, at, &snap, seen(&snap));
    let deadline = sending_deadline(&test.plan);
    let mut sessions = Sessions::start(sessions_to, count, ramp, deadline);
    test.sessions_started(count);
    let mut sending = true;
    // Root causes are collected beside the loop, never in its way: the
    // sessions stop on time and the verdicts keep being judged meanwhile.
    let mut diagnoses = futures::stream::FuturesUnordered::new();
    let mut broken_since: Option<Instant> = None;
    let result = loop {
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            Some((id, cause)) = diagnoses.next(), if !diagnoses.is_empty() => {
                test.attach_root_cause(id, cause);
            }
            Ok(_) = stop.wait_for(|s| *s) => {
                // Every session stops before anything else happens.
                sessions.stop();
                if sending {
                    test.sessions_stopped(jiff::Timestamp::now(), count);
                }
                break RunResult::Interrupted;
            }
        }
        if sending && let Some(after) = sessions.stopped_after() {
            // The sessions' own deadline stopped them.
            sending = false;
            let at = test.started_at + jiff::SignedDuration::from_secs_f64(after.as_secs_f64());
            test.sessions_stopped(at, count);
            test.judge_delivery(&sessions.stats(), true);
        }
        // A broken pods or nodes watch shows a stale game: nothing is judged
        // on it, and once it stays broken the verdicts left are not judged.
        let failed = match live.api_error() {
            Some(e) => {
                test.clock(jiff::Timestamp::now());
                let since = *broken_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= WATCH_GRACE {
                    test.source_lost(&format!(
                        "the watch of the game broke ({})",
                        clean(&crate::domain::text::one_line(&e))
                    ));
                }
                Vec::new()
            }
            None => {
                broken_since = None;
                let now = jiff::Timestamp::now();
                let snap = live.snapshot(ctx.base, settings, now);
                // In an outage the stream keeps Prometheus's last good
                // answer (for `watch`'s display): a verdict is never judged on it.
                let seen_now = seen(&snap).filter(|_| live.prometheus_error().is_none());
                test.observe(now, &snap, sessions.sending(), seen_now)
            }
        };
        // Each failure gets the chain run on the moment it failed.
        for f in failed {
            let sources = ctx.sources;
            diagnoses.push(async move { (f.id, diagnose(sources, settings, f.symptom).await) });
        }
        if sending {
            test.judge_delivery(&sessions.stats(), false);
        }
        if sending && !test.wants_sessions() {
            sessions.stop();
            sending = false;
            test.sessions_stopped(jiff::Timestamp::now(), count);
            test.judge_delivery(&sessions.stats(), true);
        }
        let next = test.expectation();
        progress.show(&render::progress(
            test.elapsed(),
            planned(&test.plan),
            sessions.sending(),
            &test.counts(),
            next.as_ref(),
        ));
        if test.done() {
            break test.result();
        }
    };
    // The sessions are stopped; the root causes still being collected are
    // awaited (each collect is bounded by its own timeouts), unless Ctrl-C.
    if result != RunResult::Interrupted {
        while let Some((id, cause)) = tokio::select! {
            next = diagnoses.next() => next,
            Ok(_) = stop.wait_for(|s| *s) => None,
        } {
            test.attach_root_cause(id, cause);
        }
    }
    progress.finish();
    Ok(test.report(result, None, settings.namespace.clone(), sessions.stats()))
}

/// How long the pods or nodes watch may stay broken before the verdicts
/// left are reported not judged (exit 3 unless one failed).
const WATCH_GRACE: Duration = Duration::from_secs(10);

/// When the sessions stop by themselves, whatever the loop is busy with:
/// load at `--duration`; single and multi a little after the last
/// scale-up deadline (the model stops them as soon as it is judged).
fn sending_deadline(p: &Plan) -> Duration {
    let seconds = match p.kind {
        Kind::Load => p.duration_seconds,
        Kind::Single => {
            p.pod_within_seconds
                .max(p.running_within_seconds)
                .max(p.scale_up_target_seconds)
                + 2.0
        }
        Kind::Multi => p.within_seconds + 2.0,
    };
    Duration::from_secs_f64(seconds)
}

/// Test 1's "ensure clean state": waits (up to `settle` seconds) for the
/// Deployment to have no pods and the game no sessions.
async fn wait_until_idle(
    ctx: &Ctx<'_>,
    live: &Live,
    settle: f64,
    progress: &mut Progress,
) -> Result<(), Fatal> {
    let mut stop = ctx.stop.clone();
    let mut changes = live.changes();
    let clean_by = Instant::now() + Duration::from_secs_f64(settle);
    loop {
        let snap = live.snapshot(ctx.base, ctx.settings, jiff::Timestamp::now());
        let pods = snap.pods.as_ref().map(Vec::len);
        let s = seen(&snap);
        if pods == Some(0) && s.map_or(ctx.yes, |s| s < IDLE_SESSIONS) {
            return Ok(());
        }
        let now = format!(
            "{} pod(s), {} session(s) seen",
            pods.map_or("?".into(), |p| p.to_string()),
            s.map_or("?".into(), crate::report::num)
        );
        let left = clean_by.saturating_duration_since(Instant::now());
        if left.is_zero() {
            progress.finish();
            return Err(Fatal::new(
                format!(
                    "the game did not reach 0 pods and no sessions within --settle {} (now {now}); nothing was sent",
                    dur(settle)
                ),
                if ctx.scale_to_zero {
                    "wait for players to leave (KEDA scales the game up again while it sees sessions), or give a longer --settle"
                } else {
                    "wait for players to leave, give a longer --settle, or use --scale-to-zero --yes"
                },
            ));
        }
        progress.show(&format!(
            "settling: waiting for 0 pods and no sessions, now {now}; {} left",
            render::secs(left.as_secs_f64().ceil())
        ));
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            Ok(_) = stop.wait_for(|s| *s) => {
                progress.finish();
                return Err(Fatal::new("interrupted while settling: nothing was sent", ""));
            }
        }
    }
}

/// Seconds of a plan as the flags are written: `3m`, `45s`, `1500ms`.
fn dur(seconds: f64) -> String {
    show_duration(Duration::try_from_secs_f64(seconds).unwrap_or_default())
}

/// The planned length of the test, for the progress line.
fn planned(p: &Plan) -> f64 {
    match p.kind {
        Kind::Single => {
            p.running_within_seconds.max(p.scale_up_target_seconds) + p.gone_within_seconds
        }
        Kind::Multi => p.within_seconds + p.gone_within_seconds,
        Kind::Load => p.duration_seconds + p.gone_within_seconds,
    }
}

/// Runs the `--symptom` chain on a fresh collect (the moment a verdict
/// failed) and returns its first failing link, or the first warning.
async fn diagnose(sources: &Sources, settings: &Settings, symptom: &'static str) -> RootCause {
    let snap = match collect::run(sources, settings, jiff::Timestamp::now(), Scope::Full).await {
        Ok(s) => s,
        Err(e) => {
            return RootCause {
                symptom: symptom.into(),
                check: None,
                message: format!("could not collect a snapshot: {e}"),
                fix: None,
                warning_only: false,
            };
        }
    };
    let selection = Selection {
        // The verdicts name their chain by the symptom's own spelling.
        chain: symptom.parse().ok().map(checks::symptom_chain),
        silenced: settings.silence.clone(),
        ..Selection::default()
    };
    let findings = checks::run(&snap, settings, &selection);
    let cause = checks::root_cause(&findings).map(|f| (f, false));
    let found = cause.or_else(|| {
        findings
            .iter()
            .find(|f| f.outcome == CheckOutcome::Warn && f.blocked_by.is_none())
            .map(|f| (f, true))
    });
    match found {
        Some((f, warning_only)) => RootCause {
            symptom: symptom.into(),
            check: Some(f.id.clone()),
            message: f.message.clone(),
            fix: f.remediation.as_ref().and_then(|r| r.fix.clone()),
            warning_only,
        },
        None => RootCause {
            symptom: symptom.into(),
            check: None,
            message: format!("the {symptom} chain found nothing failing or warning at that moment"),
            fix: None,
            warning_only: false,
        },
    }
}

/// One line on stderr, neutralised, never a panic: the terminal may be gone
/// (a closed pipe answers EPIPE, a closed pty EIO) and the run must go on to
/// its put-back. `eprintln!` would panic there.
fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{}",
        crate::report::text::neutralise(&line.replace('\n', " "))
    );
    let _ = err.flush();
}

/// How the scale-down went.
enum ScaleDown {
    /// At 0 replicas already: nothing written, nothing to put back.
    Unchanged,
    /// Patched from this count to 0.
    Down(i32),
    /// Refused or not tried (the server said no): nothing was applied.
    Refused(Fatal),
    /// The PATCH may have been applied (no answer, a timeout, a server
    /// error): the count read before it must be put back, and the run ends.
    MaybeApplied { from: i32, fatal: Fatal },
}

/// `--scale-to-zero`: reads the workload's replica count and patches its
/// scale to 0.
async fn scale_down(kube: &kube::Client, settings: &Settings, workload: &Workload) -> ScaleDown {
    let before = match workload
        .api(kube, &settings.namespace)
        .get_scale(workload.name())
        .await
    {
        Ok(scale) => scale.spec.and_then(|s| s.replicas).unwrap_or(0),
        Err(e) => {
            return ScaleDown::Refused(scale_error(settings, workload, "read the scale of", &e));
        }
    };
    let name = format!(
        "{} {}/{}",
        workload.word(),
        settings.namespace,
        workload.name()
    );
    if before == 0 {
        note(&format!(
            "{} is at 0 replicas already: not scaled",
            clean(&name)
        ));
        return ScaleDown::Unchanged;
    }
    match patch_replicas(kube, settings, workload, 0).await {
        Ok(()) => {
            note(&format!(
                "scaled {} from {before} to 0 replicas; {before} is put back on exit",
                clean(&name)
            ));
            ScaleDown::Down(before)
        }
        Err(e) if !may_have_applied(&e) => {
            ScaleDown::Refused(scale_error(settings, workload, "scale", &e))
        }
        Err(e) => {
            let lost = lost_answer(&e);
            note(&format!(
                "warning: the scale-down of {} to 0 replicas {lost}: it may have been applied; putting {before} replicas back",
                clean(&name)
            ));
            ScaleDown::MaybeApplied {
                from: before,
                fatal: Fatal::new(
                    format!(
                        "--scale-to-zero: the scale-down of {} to 0 replicas {lost}: it may have been applied (the count read before it is put back); no session was sent",
                        clean(&name)
                    ),
                    "check the API server's health (kubectl get --raw /readyz) or raise --request-timeout, then run the test again",
                ),
            }
        }
    }
}

/// Whether a failed write may still have been applied: only an answer in
/// which the server refused it (a 4xx Status) says for sure that it was not.
fn may_have_applied(e: &kube::Error) -> bool {
    !matches!(e, kube::Error::Api(s) if (400..500).contains(&s.code))
}

/// What became of a write whose answer did not say "refused", in words that
/// name a timeout as one (never permissions).
fn lost_answer(e: &kube::Error) -> String {
    let reason = crate::error::chain_text(e);
    if crate::cluster::error::timed_out(e) {
        format!("timed out ({reason})")
    } else if let kube::Error::Api(s) = e {
        format!("failed on the server ({})", crate::error::status_text(s))
    } else {
        format!("got no answer ({reason})")
    }
}

/// The put-back's retry budget, in seconds, is read from this variable;
/// it exists so the integration tests can make a failing put-back end in
/// seconds (default [`PUT_BACK_RETRY_DEFAULT`]; 0 to 3600 accepted).
const PUT_BACK_RETRY_ENV: &str = "SPICE_PUT_BACK_RETRY_SECONDS";
/// How long a failing put-back is tried again: long enough for an API
/// server restart or an expired credential to heal.
const PUT_BACK_RETRY_DEFAULT: Duration = Duration::from_secs(60);
/// The longest wait between two put-back attempts.
const PUT_BACK_BACKOFF_CAP: Duration = Duration::from_secs(16);

fn put_back_budget(env: &dyn Fn(&str) -> Option<String>) -> Duration {
    env(PUT_BACK_RETRY_ENV)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
        .map_or(PUT_BACK_RETRY_DEFAULT, Duration::from_secs_f64)
}

/// The wait after failed attempt `n` (0-based): 1 s, 2 s, 4 s, 8 s, then
/// 16 s each.
fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.min(10)).min(PUT_BACK_BACKOFF_CAP)
}

/// Why one put-back attempt failed, and whether trying again can help.
struct Failed {
    reason: String,
    heals: bool,
}

impl Failed {
    fn of(e: &kube::Error, workload: &Workload) -> Failed {
        let reason = crate::error::chain_text(e);
        match e {
            // Trying again does not change a permission, a missing object
            // or an invalid count.
            kube::Error::Api(s) if s.code == 403 => Failed {
                reason: format!("{reason} (it needs patch on {}/scale)", workload.resource()),
                heals: false,
            },
            kube::Error::Api(s) if matches!(s.code, 404 | 422) => Failed {
                reason,
                heals: false,
            },
            _ => Failed {
                reason,
                heals: true,
            },
        }
    }
}

/// Puts the replica count `--scale-to-zero` found back, with fresh
/// credentials for every attempt (the exec plugin runs again: the token
/// the test started with may have expired during it), tried again with
/// backoff for at least the retry budget. Returns what became of it.
async fn put_back(
    target: &KubeTarget,
    settings: &Settings,
    workload: &Workload,
    replicas: i32,
) -> ScaleReport {
    let name = format!(
        "{} {}/{}",
        workload.word(),
        settings.namespace,
        workload.name()
    );
    let budget = put_back_budget(&crate::process_env);
    let timeout = settings.request_timeout;
    let started = Instant::now();
    let mut report = ScaleReport {
        deployment: match workload {
            Workload::Deployment(name) => name.clone(),
            Workload::StatefulSet(_) => String::new(),
        },
        statefulset: match workload {
            Workload::StatefulSet(name) => Some(name.clone()),
            Workload::Deployment(_) => None,
        },
        namespace: settings.namespace.clone(),
        from: replicas,
        to: 0,
        restored: false,
        left_at: None,
        error: None,
        command: None,
    };
    let mut attempt = 0u32;
    let error = loop {
        match put_back_once(target, settings, workload, replicas, timeout).await {
            Ok(()) => {
                note(&format!("put {} back to {replicas} replicas", clean(&name)));
                report.restored = true;
                return report;
            }
            Err(failed) => {
                let elapsed = started.elapsed();
                if !failed.heals || elapsed >= budget {
                    break failed.reason;
                }
                let wait = backoff(attempt).min(budget - elapsed);
                note(&format!(
                    "warning: putting {} back to {replicas} replicas failed: {}; trying again in {}",
                    clean(&name),
                    clean(&failed.reason),
                    show_duration(wait)
                ));
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    };
    report.left_at = current_replicas(target, settings, workload, timeout).await;
    report.error = Some(error);
    report.command = Some(crate::loadtest::scale_command_of(
        workload.word(),
        &settings.namespace,
        workload.name(),
        replicas,
    ));
    report
}

/// One put-back attempt on a fresh client: reads the scale first (a
/// put-back whose answer was lost may already have landed), then patches.
async fn put_back_once(
    target: &KubeTarget,
    settings: &Settings,
    workload: &Workload,
    replicas: i32,
    timeout: Duration,
) -> Result<(), Failed> {
    let kube = target.fresh_client(timeout).await.map_err(|e| Failed {
        reason: e.to_string(),
        heals: true,
    })?;
    let now = workload
        .api(&kube, &settings.namespace)
        .get_scale(workload.name())
        .await
        .ok()
        .and_then(|s| s.spec)
        .and_then(|s| s.replicas);
    if now == Some(replicas) {
        return Ok(());
    }
    patch_replicas(&kube, settings, workload, replicas)
        .await
        .map_err(|e| Failed::of(&e, workload))
}

/// The workload's replica count now, if it can be read.
async fn current_replicas(
    target: &KubeTarget,
    settings: &Settings,
    workload: &Workload,
    timeout: Duration,
) -> Option<i32> {
    let kube = target.fresh_client(timeout).await.ok()?;
    workload
        .api(&kube, &settings.namespace)
        .get_scale(workload.name())
        .await
        .ok()?
        .spec?
        .replicas
}

/// A merge patch of the scale subresource, as `kubectl scale` sends it.
async fn patch_replicas(
    kube: &kube::Client,
    settings: &Settings,
    workload: &Workload,
    replicas: i32,
) -> Result<(), kube::Error> {
    let patch = serde_json::json!({"spec": {"replicas": replicas}});
    workload
        .api(kube, &settings.namespace)
        .patch_scale(
            workload.name(),
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
}

/// A scale-down that was refused or not tried: nothing was applied. Only
/// a 403 names permissions.
fn scale_error(settings: &Settings, workload: &Workload, what: &str, e: &kube::Error) -> Fatal {
    let message = format!(
        "--scale-to-zero: cannot {what} {} {}/{}: {}; nothing was changed",
        workload.word(),
        settings.namespace,
        workload.name(),
        crate::error::chain_text(e)
    );
    let resource = workload.resource();
    let hint = match e {
        kube::Error::Api(s) if s.code == 403 => format!(
            "it needs get and patch on {resource}/scale: kubectl auth can-i patch {resource}/scale -n {}",
            settings.namespace
        ),
        kube::Error::Api(s) if s.code == 404 => format!(
            "check the {}'s name and namespace (the ScaledObject's scaleTargetRef names it unless --deployment is given; -n): kubectl spice config view",
            workload.kind()
        ),
        _ if crate::cluster::error::timed_out(e) => {
            "the API server did not answer in time: raise --request-timeout or check kubectl cluster-info"
                .to_string()
        }
        _ => String::new(),
    };
    Fatal::new(message, hint)
}

/// The live progress line on stderr: redrawn in place on a terminal, else a
/// new line only when it changes (at most every 5 s for the clock alone).
struct Progress {
    tty: bool,
    last: String,
    last_at: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            last: String::new(),
            last_at: None,
            drawn: false,
        }
    }

    fn show(&mut self, line: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
            self.drawn = true;
            return;
        }
        // Compare without the clock, so a quiet test prints rarely.
        let key = line.split_once("  ").map_or(line, |(_, rest)| rest);
        let stale = self
            .last_at
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if key != self.last || stale {
            let _ = writeln!(err, "{line}");
            self.last = key.to_string();
            self.last_at = Some(Instant::now());
        }
    }

    fn finish(&mut self) {
        if self.tty && self.drawn {
            let _ = writeln!(std::io::stderr());
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_put_back_backs_off_1_2_4_8_then_16_seconds() {
        let waits: Vec<u64> = (0..7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(16));
        // Within the default budget that is 6 tries or more after the first.
        let mut spent = Duration::ZERO;
        let mut tries = 0;
        while spent < PUT_BACK_RETRY_DEFAULT {
            spent += backoff(tries);
            tries += 1;
        }
        assert!(tries >= 6, "{tries}");
    }

    #[test]
    fn the_retry_budget_is_a_minute_unless_the_test_variable_says_otherwise() {
        let none = |_: &str| None;
        assert_eq!(put_back_budget(&none), Duration::from_secs(60));
        let env = |v: &'static str| move |k: &str| (k == PUT_BACK_RETRY_ENV).then(|| v.to_string());
        assert_eq!(put_back_budget(&env("3")), Duration::from_secs(3));
        assert_eq!(put_back_budget(&env("0.5")), Duration::from_millis(500));
        for bad in ["-1", "nan", "1e9", "soon"] {
            assert_eq!(put_back_budget(&env(bad)), PUT_BACK_RETRY_DEFAULT, "{bad}");
        }
    }

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure("no", "Reason").with_code(code),
        ))
    }

    fn timeout() -> kube::Error {
        kube::Error::Service(Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no response within 2s",
        )))
    }

    #[test]
    fn only_a_refusal_says_a_write_was_not_applied() {
        assert!(!may_have_applied(&api(403)));
        assert!(!may_have_applied(&api(409)));
        assert!(may_have_applied(&api(500)));
        assert!(may_have_applied(&timeout()));
    }

    #[test]
    fn a_timeout_is_named_a_timeout_and_only_a_403_names_permissions() {
        let lost = lost_answer(&timeout());
        assert!(
            lost.starts_with("timed out (") && lost.contains("no response within 2s"),
            "{lost}"
        );
        assert!(lost_answer(&api(503)).starts_with("failed on the server (HTTP 503"));
        let settings = Settings::defaults();
        let rbac = |e: &kube::Error| {
            let f = scale_error(
                &settings,
                &Workload::Deployment(settings.deployment.clone()),
                "scale",
                e,
            );
            format!("{} {}", f.message(), f.hint().unwrap_or(""))
        };
        assert!(rbac(&api(403)).contains("deployments/scale"));
        for e in [timeout(), api(404), api(409), api(500)] {
            let text = rbac(&e);
            assert!(
                !text.contains("auth can-i") && !text.contains("needs get and patch"),
                "{text}"
            );
        }
        assert!(rbac(&timeout()).contains("did not answer in time"));
        // A put-back refused for good stops retrying, with its reason.
        let d = Workload::Deployment("spice-runner".into());
        assert!(!Failed::of(&api(403), &d).heals);
        assert!(
            Failed::of(&api(403), &d)
                .reason
                .contains("needs patch on deployments/scale")
        );
        assert!(!Failed::of(&api(404), &d).heals && !Failed::of(&api(422), &d).heals);
        assert!(Failed::of(&api(401), &d).heals && Failed::of(&api(500), &d).heals);
        assert!(Failed::of(&timeout(), &d).heals);
    }

    /// A StatefulSet's refusals name its own subresource, never a Deployment's.
    #[test]
    fn a_statefulset_s_scale_errors_name_statefulsets_scale() {
        let settings = Settings::defaults();
        let sts = Workload::StatefulSet("spice-game".into());
        let f = scale_error(&settings, &sts, "scale", &api(403));
        let text = format!("{} {}", f.message(), f.hint().unwrap_or(""));
        assert!(
            text.contains("cannot scale statefulset default/spice-game")
                && text.contains("kubectl auth can-i patch statefulsets/scale -n default")
                && !text.contains("deployment"),
            "{text}"
        );
        let f = scale_error(&settings, &sts, "read the scale of", &api(404));
        assert!(
            f.hint()
                .unwrap_or("")
                .contains("check the StatefulSet's name"),
            "{f:?}"
        );
        assert!(
            Failed::of(&api(403), &sts)
                .reason
                .contains("needs patch on statefulsets/scale")
        );
    }
}

#[cfg(test)]
mod ceilings {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        test: TestArgs,
    }

    fn plan(args: &[&str]) -> Result<Plan, Fatal> {
        let cli = Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .expect("valid flags");
        plan_from(&cli.test, &Settings::defaults())
    }

    fn refused(args: &[&str]) -> (String, String) {
        let Err(f) = plan(args) else {
            panic!("{args:?} was accepted")
        };
        (f.message().to_string(), f.hint().unwrap_or("").to_string())
    }

    #[test]
    fn sessions_and_the_rate_cap_go_up_to_what_one_core_holds() {
        let most = MAX_SESSIONS.to_string();
        let cap = MAX_RPS.to_string();
        let p = plan(&["load", "--sessions", &most, "--max-rps", &cap]).expect("the ceilings");
        assert_eq!(p.sessions, MAX_SESSIONS);
        assert_eq!(p.max_requests_per_second, MAX_RPS);
        // The former ceilings are well inside.
        assert!(plan(&["load", "--sessions", "1001", "--max-rps", "10001"]).is_ok());
        // Many sessions at a high rate each still meet the cap.
        let rate = (MAX_RPS / MAX_SESSIONS as f64 + 1.0).to_string();
        let (message, hint) = refused(&[
            "load",
            "--sessions",
            &most,
            "--rate",
            &rate,
            "--max-rps",
            &cap,
        ]);
        assert!(message.contains("over the --max-rps cap"), "{message}");
        assert!(hint.contains("lower --sessions or --rate"), "{hint}");
    }

    #[test]
    fn above_the_ceilings_is_one_line_naming_the_range_and_the_tool_beyond() {
        let over_sessions = (MAX_SESSIONS + 1).to_string();
        let over_cap = (MAX_RPS + 1.0).to_string();
        for (args, needle) in [
            (
                vec!["load", "--sessions", over_sessions.as_str()],
                format!("--sessions {over_sessions} is out of range"),
            ),
            (
                vec!["load", "--sessions", "0"],
                "--sessions 0 is out of range".to_string(),
            ),
            (
                vec!["load", "--max-rps", over_cap.as_str()],
                format!("--max-rps {over_cap} is out of range"),
            ),
            (
                vec!["load", "--max-rps", "0.5"],
                "--max-rps 0.5 is out of range".to_string(),
            ),
            (
                vec!["load", "--max-rps", "NaN"],
                "--max-rps NaN is out of range".to_string(),
            ),
        ] {
            let (message, hint) = refused(&args);
            assert_eq!(message, needle, "{args:?}");
            assert!(
                !message.contains('\n') && !hint.contains('\n'),
                "{message} / {hint}"
            );
            assert!(
                hint.starts_with("use 1 to ") && hint.contains("k6"),
                "{hint}"
            );
        }
    }
}
