//! `kubectl spice test`: the runbook's three testing scenarios, measured and
//! judged. This module is pure: [`Test::observe`] takes the time and a
//! snapshot built from the watch streams, records what changed as timeline
//! events and decides the verdicts; `commands::test` does the I/O (sessions,
//! watches, the diagnose chain when a verdict fails) and the renderers in
//! [`render`] only format.

pub mod driver;
pub mod render;
mod track;

use crate::snapshot::{API_VERSION, PodInfo, Snapshot};
use serde::Serialize;
pub use track::{EventKind, Sample, TimelineEvent};
use track::{PodTrack, Tracker};

/// Which runbook test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Single,
    Multi,
    Load,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Multi => "multi",
            Kind::Load => "load",
        }
    }
}

/// What the test does and the expectations it judges against (all seconds).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub kind: Kind,
    pub sessions: usize,
    pub rate_per_session: f64,
    /// Load: how long the sessions send. Single and multi stop them as soon
    /// as the scale-up is judged.
    pub duration_seconds: f64,
    pub ramp_seconds: f64,
    /// Where the requests go (never with credentials).
    pub target: String,
    pub pod_within_seconds: f64,
    pub running_within_seconds: f64,
    /// Multi: baseline + N pods within this long.
    pub within_seconds: f64,
    pub gone_within_seconds: f64,
    pub scale_up_target_seconds: f64,
    pub scale_down_target_seconds: f64,
    /// Load: pods within this fraction of the sessions (0.17 = ±17 %).
    pub tolerance: f64,
    pub green_min: f64,
    pub green_max: f64,
    /// Load: how long a pod may be Unschedulable before a node must be coming.
    pub pending_grace_seconds: f64,
    pub max_requests_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_seconds: Option<f64>,
    /// sessions.delivered: at least this fraction of the planned requests
    /// delivered (0.9 = 90 %).
    pub min_delivered: f64,
    /// sessions.delivered: errors under this fraction of the answers (0.01 = 1 %).
    pub max_errors: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Nothing to judge (e.g. no pod came, so none can go).
    Skip,
    /// Not decided: the test was interrupted before its deadline, a verdict
    /// it depends on failed (`blocked_by`), or a source could not be read
    /// (`unread`).
    NotJudged,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
            Outcome::NotJudged => "NOT JUDGED",
        }
    }
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::Skip | Outcome::NotJudged => "-",
        }
    }
}

/// The first failing link of the diagnose chain run at the moment a verdict failed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RootCause {
    pub symptom: String,
    /// The check id; `None` when the chain found nothing failing.
    pub check: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// No link of the chain failed: `check` is only its first warning, a
    /// lead to follow rather than the cause, and the report says so.
    #[serde(skip_serializing_if = "is_false")]
    pub warning_only: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl RootCause {
    /// "root cause", or what a warning that stands in for one is called.
    pub fn label(&self) -> &'static str {
        if self.warning_only {
            "no check failed; nearest warning"
        } else {
            "root cause"
        }
    }
}

/// One expectation of the runbook, judged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub id: &'static str,
    /// The expectation, e.g. "a pod exists within 30s".
    pub expect: String,
    pub outcome: Outcome,
    /// What was measured, e.g. "3.1s" or "6 pods".
    pub measured: Option<String>,
    pub message: String,
    /// The diagnose chain a failure runs (`--symptom`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symptom: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<RootCause>,
    /// Not judged because this verdict failed first (`sessions.delivered`:
    /// the traffic it needs did not arrive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<&'static str>,
    /// Not judged because a source could not be read: which, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

impl Verdict {
    /// Judged, or known never to be: blocked, or its source unreadable.
    fn settled(&self) -> bool {
        self.outcome != Outcome::NotJudged || self.blocked_by.is_some() || self.unread.is_some()
    }
}

/// A verdict that just failed and wants its diagnose chain run now.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub id: &'static str,
    pub symptom: &'static str,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Result {
    Pass,
    Fail,
    Interrupted,
    /// Nothing failed, but a verdict could not be judged: a source could not
    /// be read (exit 3).
    Incomplete,
}

/// `kind: TestReport`: everything measured, every event and verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub test: Kind,
    pub result: Result,
    pub context: Option<String>,
    pub namespace: String,
    pub started_at: jiff::Timestamp,
    pub elapsed_seconds: f64,
    pub plan: Plan,
    pub baseline_pods: usize,
    pub baseline_sessions: Option<f64>,
    pub sessions: driver::SessionStats,
    pub verdicts: Vec<Verdict>,
    pub nodes_launched: Vec<NodeLaunch>,
    pub events: Vec<TimelineEvent>,
    pub samples: Vec<Sample>,
    /// `--scale-to-zero`: the one write and whether it was undone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleReport>,
}

/// `--scale-to-zero`: the replica count of the workload KEDA scales before
/// the test (`from`), what it was scaled to (`to`), and whether it was put
/// back. A put-back that failed carries its reason, the count it was left at
/// (when it could be read) and the exact command that puts it back by hand.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScaleReport {
    /// The Deployment scaled; empty (and left out of the JSON) when a
    /// StatefulSet was.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deployment: String,
    /// The StatefulSet scaled, when the ScaledObject's scaleTargetRef names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statefulset: Option<String>,
    pub namespace: String,
    pub from: i32,
    pub to: i32,
    pub restored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_at: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl ScaleReport {
    /// The failed put-back on one line (untrusted parts neutralised by the
    /// caller's writer), or `None` when the count was put back.
    pub fn failure(&self) -> Option<String> {
        if self.restored {
            return None;
        }
        let left = match self.left_at {
            Some(n) => format!("the game was left at {n} replicas"),
            None => format!(
                "the game may still be at {} replicas (its count could not be read)",
                self.to
            ),
        };
        let (kind, name) = self.workload();
        Some(format!(
            "could not put {kind} {}/{name} back to {} replicas: {}; {left}",
            self.namespace,
            self.from,
            self.error.as_deref().unwrap_or("unknown error"),
        ))
    }
}

impl ScaleReport {
    /// What was scaled, as kubectl names it: `deployment` or `statefulset`,
    /// and its name.
    pub fn workload(&self) -> (&'static str, &str) {
        match &self.statefulset {
            Some(name) => ("statefulset", name),
            None => ("deployment", &self.deployment),
        }
    }
}

/// The exact `kubectl scale` command that puts `replicas` back, its names
/// quoted for a POSIX shell when they hold anything but a Kubernetes
/// name's characters (a setting is not checked against the API's rules).
pub fn scale_command(namespace: &str, deployment: &str, replicas: i32) -> String {
    scale_command_of("deployment", namespace, deployment, replicas)
}

/// The same for a workload of kind `kind` as kubectl names it
/// (`deployment`, `statefulset`).
pub fn scale_command_of(kind: &str, namespace: &str, name: &str, replicas: i32) -> String {
    format!(
        "kubectl scale {} --replicas={replicas} -n {}",
        shell_word(&format!("{kind}/{name}")),
        shell_word(namespace)
    )
}

/// `s` as one shell word: as is when it holds only `[A-Za-z0-9._/-]`, else
/// single-quoted and on one line (the writer that shows it neutralises
/// control characters).
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    if plain {
        return s.to_string();
    }
    let safe = crate::domain::text::one_line(s);
    format!("'{}'", safe.replace('\'', "'\\''"))
}

/// A NodeClaim Karpenter made during the test, and how long its node took.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeLaunch {
    pub node_claim: String,
    pub created_at_seconds: f64,
    pub node: Option<String>,
    pub launch_seconds: Option<f64>,
}

/// A running test: the tracker of what the watches show and the verdicts.
pub struct Test {
    pub plan: Plan,
    pub started_at: jiff::Timestamp,
    pub baseline_pods: usize,
    pub baseline_sessions: Option<f64>,
    stopped: Option<f64>,
    up_decided: bool,
    last_t: f64,
    /// Multi: since when the pods have been steady where the HPA holds them.
    steady_since: Option<f64>,
    /// Load: the steady state was judged.
    load_judged: bool,
    verdicts: Vec<Verdict>,
    track: Tracker,
    /// The scaling model of the game under test: what the pods should be
    /// for the sessions (the same function the checks read).
    scaling: crate::domain::model::Scaling,
}

/// Multi: how long the pods must hold where the HPA holds them to count.
const MULTI_STEADY_SECONDS: f64 = 10.0;

/// sessions.delivered is judged early (to stop a run that cannot deliver)
/// once the sessions have sent this long…
pub const EARLY_SECONDS: f64 = 5.0;
/// …and this many requests have been answered or failed.
pub const EARLY_ANSWERS: u64 = 5;

/// The verdict every test judges first: the sessions' traffic arrived.
pub const DELIVERED: &str = "sessions.delivered";

/// sessions.delivered's arithmetic. Delivered is the requests answered
/// 2xx/3xx, over the requests planned by then less those still in flight
/// (sent, neither answered nor failed, e.g. cut when the sessions stopped);
/// errors are over the requests answered or failed. Pass when at least
/// `min_delivered` of the planned were delivered and the errors are under
/// `max_errors` (none at all when it is 0); no plan yet is nothing to judge.
pub fn delivery(
    s: &driver::SessionStats,
    min_delivered: f64,
    max_errors: f64,
) -> (Outcome, String) {
    let pct = |v: f64| crate::report::num((v * 1000.0).round() / 10.0) + "%";
    // A request still in flight (sent, not answered: e.g. cut when the
    // sessions stopped) is neither delivered nor lost: it leaves the plan
    // rather than counting either way.
    let planned = s.planned - s.in_flight as f64;
    if planned < 1.0 {
        return (Outcome::Skip, "no request was planned yet".into());
    }
    let delivered = s.ok;
    let share = delivered as f64 / planned;
    let answered = s.ok + s.errors;
    let error_rate = if answered == 0 {
        0.0
    } else {
        s.errors as f64 / answered as f64
    };
    let errors_ok = s.errors == 0 || error_rate < max_errors;
    // A tick that fired in its grace period is one more than planned: the
    // share shown stops at 100 %.
    let measured = format!(
        "{delivered} requests delivered for {} planned ({}), {} error(s) ({})",
        crate::report::num(planned.round()),
        pct(share.min(1.0)),
        s.errors,
        pct(error_rate)
    );
    if share + 1e-9 >= min_delivered && errors_ok {
        (Outcome::Pass, measured)
    } else {
        (Outcome::Fail, measured)
    }
}

/// Whether the traffic so far shows a run that cannot deliver, so the
/// early judgment may end it: at least half the answers are errors, or less
/// than half the share asked for arrived. A stray error or a late timer
/// early on is for the whole run's judgment to weigh, not a reason to stop.
fn hopeless(s: &driver::SessionStats, min_delivered: f64) -> bool {
    let answered = s.ok + s.errors;
    let planned = s.planned - s.in_flight as f64;
    (answered > 0 && 2 * s.errors >= answered)
        || (planned >= 1.0 && s.ok as f64 / planned < min_delivered / 2.0)
}

fn secs(v: f64) -> String {
    crate::report::num(v) + "s"
}

/// The verdicts a plan judges: id, expectation and the diagnose chain a failure runs.
pub fn expectations(plan: &Plan) -> Vec<(&'static str, String, Option<&'static str>)> {
    let p = plan;
    let delivered = (
        DELIVERED,
        format!(
            "at least {}% of the planned requests delivered, errors under {}%",
            crate::report::num(p.min_delivered * 100.0),
            crate::report::num(p.max_errors * 100.0)
        ),
        None,
    );
    let mut list = vec![delivered];
    list.extend(match p.kind {
        Kind::Single => vec![
            (
                "single.pod-created",
                format!(
                    "a pod exists within {} after the session starts",
                    secs(p.pod_within_seconds)
                ),
                Some("no-scale-up"),
            ),
            (
                "single.pod-running",
                format!(
                    "the pod is Running by {} after the session starts",
                    secs(p.running_within_seconds)
                ),
                Some("too-slow"),
            ),
            (
                "single.scale-up",
                format!(
                    "scale-up (session → pod Ready) under {}",
                    secs(p.scale_up_target_seconds)
                ),
                Some("too-slow"),
            ),
            (
                "single.pods-gone",
                format!(
                    "the pod is gone within {} after the session stops",
                    secs(p.gone_within_seconds)
                ),
                Some("no-scale-down"),
            ),
            (
                "single.scale-down",
                format!(
                    "scale-down (session stops → pod terminating) under {}",
                    secs(p.scale_down_target_seconds)
                ),
                Some("no-scale-down"),
            ),
        ],
        Kind::Multi => vec![
            (
                "multi.pods-at-target",
                format!(
                    "baseline + {} pods (as the HPA holds them: ±1, its tolerance above 10 pods) Running within {}",
                    p.sessions,
                    secs(p.within_seconds)
                ),
                Some("no-scale-up"),
            ),
            (
                "multi.back-to-baseline",
                format!(
                    "back to baseline within {} after the sessions stop",
                    secs(p.gone_within_seconds)
                ),
                Some("no-scale-down"),
            ),
        ],
        Kind::Load => vec![
            (
                "load.pods-in-band",
                format!(
                    "Running pods within ±{}% of the sessions at steady state",
                    crate::report::num(p.tolerance * 100.0)
                ),
                Some("too-slow"),
            ),
            (
                "load.ratio-in-band",
                format!(
                    "sessions per Running pod inside {}–{}",
                    crate::report::num(p.green_min),
                    crate::report::num(p.green_max)
                ),
                Some("too-slow"),
            ),
            ("load.no-crashloop", "no CrashLoopBackOff".into(), None),
            ("load.no-failed-pods", "no pod Failed".into(), None),
            (
                "load.pending-has-node",
                "pods never Pending without a node being launched".into(),
                Some("too-slow"),
            ),
            (
                "load.back-to-baseline",
                format!(
                    "back to baseline within {} after the sessions stop",
                    secs(p.gone_within_seconds)
                ),
                Some("no-scale-down"),
            ),
        ],
    });
    list
}

impl Test {
    /// Starts judging at `at` (the moment the sessions start) from the
    /// snapshot just before: the pods in it are the baseline.
    pub fn new(plan: Plan, at: jiff::Timestamp, snap: &Snapshot, sessions: Option<f64>) -> Test {
        let track = Tracker::new(snap);
        let verdicts = expectations(&plan)
            .into_iter()
            .map(|(id, expect, symptom)| Verdict {
                id,
                expect,
                outcome: Outcome::NotJudged,
                measured: None,
                message: "not judged yet".into(),
                symptom,
                root_cause: None,
                blocked_by: None,
                unread: None,
            })
            .collect();
        Test {
            baseline_pods: track.live().count(),
            plan,
            started_at: at,
            baseline_sessions: sessions,
            stopped: None,
            up_decided: false,
            last_t: 0.0,
            steady_since: None,
            load_judged: false,
            verdicts,
            track,
            scaling: crate::domain::model::Scaling::of_snapshot(snap),
        }
    }

    /// The sessions' metric: the baseline's (or one per baseline pod) plus
    /// the test's sessions at their rate.
    fn metric(&self) -> f64 {
        self.baseline_sessions
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(self.baseline_pods as f64)
            + self.plan.sessions as f64 * self.plan.rate_per_session
    }

    /// The pods the model expects for the test's sessions, and the counts the
    /// HPA leaves alone while the [1m] rate is up to one session off (a
    /// session ramping in or out): below 10 pods that is ±1 (the ceil of a
    /// rate), above it the HPA's tolerance.
    fn expected_pods(&self) -> (usize, usize, usize) {
        let m = self.metric();
        let expected = self.scaling.settles_at(m, self.baseline_pods as i64);
        let one = self.plan.rate_per_session.max(0.0);
        let (lo, hi) = self.scaling.holds_between(m - one, m + one);
        let n = |v: i64| usize::try_from(v.max(0)).unwrap_or(0);
        (n(expected), n(lo.min(expected)), n(hi.max(expected)))
    }

    fn t(&self, at: jiff::Timestamp) -> f64 {
        (at.as_millisecond() - self.started_at.as_millisecond()) as f64 / 1000.0
    }

    /// Seconds since the sessions started, at the last observation.
    pub fn elapsed(&self) -> f64 {
        self.last_t
    }

    /// Moves the clock to `at` without an observation (nothing to observe:
    /// the watch is broken).
    pub fn clock(&mut self, at: jiff::Timestamp) {
        self.last_t = self.t(at).max(self.last_t);
    }

    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    pub fn events(&self) -> &[TimelineEvent] {
        &self.track.events
    }

    /// The sessions should keep sending.
    pub fn wants_sessions(&self) -> bool {
        !self.up_decided
    }

    /// Every verdict is judged, or known never to be.
    pub fn done(&self) -> bool {
        self.verdicts.iter().all(Verdict::settled)
    }

    pub fn failed(&self) -> bool {
        self.verdicts.iter().any(|v| v.outcome == Outcome::Fail)
    }

    /// A verdict could not be judged because a source could not be read.
    pub fn incomplete(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.outcome == Outcome::NotJudged && v.unread.is_some())
    }

    /// How the run ended when it was not interrupted: a failure wins over a
    /// gap, a gap over a pass.
    pub fn result(&self) -> Result {
        if self.failed() {
            Result::Fail
        } else if self.incomplete() {
            Result::Incomplete
        } else {
            Result::Pass
        }
    }

    /// Judges sessions.delivered from the sessions' measurements. While they
    /// send (`whole_run` false) it only fails, and only once they have sent
    /// for [`EARLY_SECONDS`] with [`EARLY_ANSWERS`] answers; when they have
    /// stopped it judges the whole run. A failure blocks every verdict not
    /// judged yet (the traffic they need did not arrive) and stops the
    /// sessions. Returns true when it just failed.
    pub fn judge_delivery(&mut self, stats: &driver::SessionStats, whole_run: bool) -> bool {
        if self.judged(DELIVERED) {
            return false;
        }
        let answered = stats.ok + stats.errors;
        if !whole_run && (self.last_t < EARLY_SECONDS || answered < EARLY_ANSWERS) {
            return false;
        }
        let (outcome, measured) = delivery(stats, self.plan.min_delivered, self.plan.max_errors);
        if !whole_run && (outcome != Outcome::Fail || !hopeless(stats, self.plan.min_delivered)) {
            return false;
        }
        let message = match (&stats.first_error, outcome) {
            (Some(e), Outcome::Fail) => {
                format!("the game did not get the planned traffic; first error: {e}")
            }
            (None, Outcome::Fail) if stats.capped > 0 => format!(
                "the game did not get the planned traffic: --max-rps held back {} request(s)",
                stats.capped
            ),
            (None, Outcome::Fail) => "the game did not get the planned traffic".into(),
            (Some(e), _) => format!("first error: {e}"),
            (None, _) => String::new(),
        };
        self.set(DELIVERED, outcome, Some(measured), message);
        if outcome != Outcome::Fail {
            return false;
        }
        for v in self.verdicts.iter_mut().filter(|v| !v.settled()) {
            v.blocked_by = Some(DELIVERED);
            v.message =
                format!("not judged: blocked by {DELIVERED} (the traffic it needs did not arrive)");
        }
        self.up_decided = true;
        true
    }

    /// A source every verdict reads is lost (the pods or nodes watch stayed
    /// broken): every verdict not judged yet is marked unread with `why`,
    /// except sessions.delivered (the sessions measure it themselves), and
    /// the sessions stop.
    pub fn source_lost(&mut self, why: &str) {
        let ids: Vec<&'static str> = self
            .verdicts
            .iter()
            .filter(|v| !v.settled() && v.id != DELIVERED)
            .map(|v| v.id)
            .collect();
        for id in ids {
            self.unread(id, why.to_string());
        }
        self.up_decided = true;
    }

    /// Marks a verdict not judged because `source` could not be read.
    fn unread(&mut self, id: &str, source: String) {
        if let Some(v) = self
            .verdicts
            .iter_mut()
            .find(|v| v.id == id && !v.settled())
        {
            v.message = format!("not judged: {source}");
            v.unread = Some(source);
        }
    }

    /// Records that the sessions stopped at `at`.
    pub fn sessions_stopped(&mut self, at: jiff::Timestamp, sessions: usize) {
        let t = self.t(at);
        self.stopped = Some(t);
        self.up_decided = true;
        self.track
            .push(t, at, EventKind::SessionsStopped, "", format!("{sessions}"));
    }

    pub fn sessions_started(&mut self, sessions: usize) {
        let at = self.started_at;
        self.track.push(
            0.0,
            at,
            EventKind::SessionsStarted,
            "",
            format!("{sessions}"),
        );
    }

    /// Attaches the diagnose chain's answer to the verdict that failed.
    pub fn attach_root_cause(&mut self, id: &str, cause: RootCause) {
        if let Some(v) = self.verdicts.iter_mut().find(|v| v.id == id) {
            v.root_cause = Some(cause);
        }
    }

    /// The expectation not judged yet with the nearest deadline (seconds).
    pub fn expectation(&self) -> Option<(String, f64)> {
        self.verdicts
            .iter()
            .filter(|v| !v.settled())
            .filter_map(|v| Some((v.expect.clone(), self.deadline(v.id)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn deadline(&self, id: &str) -> Option<f64> {
        let p = &self.plan;
        let after_stop = |d: f64| self.stopped.map(|s| s + d);
        match id {
            "single.pod-created" => Some(p.pod_within_seconds),
            "single.pod-running" => Some(p.running_within_seconds),
            "single.scale-up" => Some(p.scale_up_target_seconds),
            "multi.pods-at-target" => Some(p.within_seconds),
            // Judged when the sessions stop, whenever that is.
            DELIVERED => None,
            "single.scale-down" => after_stop(p.scale_down_target_seconds),
            "single.pods-gone" | "multi.back-to-baseline" | "load.back-to-baseline" => {
                after_stop(p.gone_within_seconds)
            }
            _ => Some(p.duration_seconds),
        }
    }

    /// Every sample of the chart so far.
    pub fn samples(&self) -> &[Sample] {
        &self.track.samples
    }

    /// Pods by phase and nodes now, for the progress line.
    pub fn counts(&self) -> track::Counts {
        self.track.counts()
    }

    pub fn node_launches(&self) -> Vec<NodeLaunch> {
        self.track.launches()
    }

    /// Interrupted: whatever is not judged stays so.
    pub fn report(
        &self,
        result: Result,
        context: Option<String>,
        namespace: String,
        sessions: driver::SessionStats,
    ) -> TestReport {
        TestReport {
            api_version: API_VERSION,
            kind: "TestReport",
            test: self.plan.kind,
            result,
            context,
            namespace,
            started_at: self.started_at,
            elapsed_seconds: (self.last_t * 10.0).round() / 10.0,
            plan: self.plan.clone(),
            baseline_pods: self.baseline_pods,
            baseline_sessions: self.baseline_sessions,
            sessions,
            verdicts: self.verdicts.clone(),
            nodes_launched: self.node_launches(),
            events: self.track.events.clone(),
            samples: self.track.samples.clone(),
            scale: None,
        }
    }

    /// Feeds one snapshot (taken at `at`); returns the verdicts that just
    /// failed and want their diagnose chain run.
    pub fn observe(
        &mut self,
        at: jiff::Timestamp,
        snap: &Snapshot,
        sending: usize,
        seen_sessions: Option<f64>,
    ) -> Vec<Failed> {
        let t = self.t(at).max(self.last_t);
        self.last_t = t;
        self.track.update(t, at, snap, sending, seen_sessions);
        let before: Vec<Outcome> = self.verdicts.iter().map(|v| v.outcome).collect();
        match self.plan.kind {
            Kind::Single => self.judge_single(t),
            Kind::Multi => self.judge_multi(t),
            Kind::Load => self.judge_load(t, seen_sessions),
        }
        if self.stopped.is_some() {
            self.judge_down(t);
        }
        self.verdicts
            .iter()
            .zip(before)
            .filter(|(v, b)| *b == Outcome::NotJudged && v.outcome == Outcome::Fail)
            .filter_map(|(v, _)| v.symptom.map(|symptom| Failed { id: v.id, symptom }))
            .collect()
    }

    fn set(&mut self, id: &str, outcome: Outcome, measured: Option<String>, message: String) {
        if let Some(v) = self
            .verdicts
            .iter_mut()
            .find(|v| v.id == id && !v.settled())
        {
            v.outcome = outcome;
            v.measured = measured;
            v.message = message;
        }
    }

    /// Judges "`what` by `deadline`": pass when it happened in time, fail
    /// once the deadline passed without it (or it came late).
    fn by_deadline(
        &mut self,
        id: &str,
        t: f64,
        happened: Option<f64>,
        deadline: f64,
        late: String,
    ) {
        match happened {
            Some(h) if h <= deadline => self.set(id, Outcome::Pass, Some(secs(h)), String::new()),
            Some(h) => self.set(id, Outcome::Fail, Some(secs(h)), late),
            None if t > deadline => self.set(id, Outcome::Fail, None, late),
            None => {}
        }
    }

    fn judge_single(&mut self, t: f64) {
        let p = self.plan.clone();
        let first = self.track.first_new_pod().cloned();
        let created = first.as_ref().map(|f| f.first_seen);
        let running = first.as_ref().and_then(|f| f.running);
        let ready = first.as_ref().and_then(|f| f.ready);
        let slow = slow_phase(first.as_ref(), t);
        self.by_deadline(
            "single.pod-created",
            t,
            created,
            p.pod_within_seconds,
            format!(
                "no pod {} after the session started",
                secs(p.pod_within_seconds)
            ),
        );
        self.by_deadline(
            "single.pod-running",
            t,
            running,
            p.running_within_seconds,
            format!("not Running by {}: {slow}", secs(p.running_within_seconds)),
        );
        self.by_deadline(
            "single.scale-up",
            t,
            ready,
            p.scale_up_target_seconds,
            format!("not Ready by {}: {slow}", secs(p.scale_up_target_seconds)),
        );
        // A failure with no pod at all is KEDA not scaling, not a slow start.
        if created.is_none() {
            for v in &mut self.verdicts {
                if v.outcome == Outcome::Fail && v.symptom == Some("too-slow") {
                    v.symptom = Some("no-scale-up");
                }
            }
        }
        let up = [
            "single.pod-created",
            "single.pod-running",
            "single.scale-up",
        ];
        if up.iter().all(|id| self.judged(id)) {
            self.up_decided = true;
        }
    }

    fn judged(&self, id: &str) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.id == id && v.outcome != Outcome::NotJudged)
    }

    fn judge_multi(&mut self, t: f64) {
        let (expected, low, high) = self.expected_pods();
        let c = self.track.counts();
        let settled = c.pending == 0 && c.ready == c.running;
        let exact = settled && c.running == expected;
        // The HPA may settle off the exact count where the model says it
        // holds (the ceil of a rate, its tolerance): accept that once it has
        // held still for a while.
        let held = (low..=high).contains(&c.running);
        if settled && held {
            self.steady_since.get_or_insert(t);
        } else {
            self.steady_since = None;
        }
        let steady = self
            .steady_since
            .is_some_and(|s| t - s >= MULTI_STEADY_SECONDS);
        if self.judged("multi.pods-at-target") || !(exact || steady || t > self.plan.within_seconds)
        {
            return;
        }
        let within = held;
        let measured = Some(format!("{} pods at {}", c.running, secs(t)));
        let message = format!(
            "{} Running for baseline {} + {} sessions (expected {expected}, the HPA holds {low}–{high})",
            c.running, self.baseline_pods, self.plan.sessions
        );
        if within {
            self.set("multi.pods-at-target", Outcome::Pass, measured, message);
        } else {
            let symptom = if c.running > expected {
                "too-fast"
            } else if c.running + c.pending > self.baseline_pods {
                "too-slow"
            } else {
                "no-scale-up"
            };
            self.set("multi.pods-at-target", Outcome::Fail, measured, message);
            self.set_symptom("multi.pods-at-target", symptom);
        }
        self.up_decided = true;
    }

    fn set_symptom(&mut self, id: &str, symptom: &'static str) {
        if let Some(v) = self.verdicts.iter_mut().find(|v| v.id == id) {
            v.symptom = Some(symptom);
        }
    }

    fn judge_load(&mut self, t: f64, seen: Option<f64>) {
        if let Some((pod, reason)) = self.track.crash_looping() {
            self.set(
                "load.no-crashloop",
                Outcome::Fail,
                Some(pod.clone()),
                format!("{pod} in CrashLoopBackOff ({reason})"),
            );
        }
        if let Some(pod) = self.track.failed_pod() {
            self.set(
                "load.no-failed-pods",
                Outcome::Fail,
                Some(pod.clone()),
                format!("{pod} Failed"),
            );
        }
        if let Some((pod, waited)) = self
            .track
            .pending_without_node(t, self.plan.pending_grace_seconds)
        {
            self.set(
                "load.pending-has-node",
                Outcome::Fail,
                Some(secs(waited)),
                format!(
                    "{pod} Unschedulable for {} and no NodeClaim was created for it",
                    secs(waited)
                ),
            );
        }
        if t < self.plan.duration_seconds || self.load_judged {
            return;
        }
        self.load_judged = true;
        self.judge_steady_state(t, seen);
        let launches = self.track.launches().len();
        for id in [
            "load.no-crashloop",
            "load.no-failed-pods",
            "load.pending-has-node",
        ] {
            let message = if id == "load.pending-has-node" {
                format!("{launches} NodeClaim(s) launched during the test")
            } else {
                String::new()
            };
            self.set(id, Outcome::Pass, None, message);
        }
        self.up_decided = true;
    }

    fn judge_steady_state(&mut self, t: f64, seen: Option<f64>) {
        let c = self.track.counts();
        // The model's count for the sessions, and the user's --tolerance
        // band around it, widened to the counts the HPA itself leaves alone.
        let (expected, held_low, held_high) = self.expected_pods();
        let tol = self.plan.tolerance;
        let expected_f = expected as f64;
        let (low, high) = (
            ((expected_f * (1.0 - tol) - 1e-9).ceil() as usize).min(held_low),
            ((expected_f * (1.0 + tol) + 1e-9).floor() as usize).max(held_high),
        );
        let measured = Some(format!("{} pods", c.running));
        let message = format!(
            "{} Running at {} for {} expected (band {low}–{high})",
            c.running,
            secs(t),
            expected
        );
        let outcome = if (low..=high).contains(&c.running) {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        self.set("load.pods-in-band", outcome, measured, message);
        if outcome == Outcome::Fail && c.running + c.pending <= self.baseline_pods {
            self.set_symptom("load.pods-in-band", "no-scale-up");
        }
        let (outcome, measured, message) = match seen {
            Some(_) if c.running == 0 => (
                Outcome::Fail,
                None,
                "no Running pod to divide the sessions by".to_string(),
            ),
            Some(s) => {
                let ratio = s / c.running as f64;
                let inside = ratio >= self.plan.green_min && ratio <= self.plan.green_max;
                (
                    if inside { Outcome::Pass } else { Outcome::Fail },
                    Some(crate::report::num(ratio)),
                    format!(
                        "Prometheus saw {} sessions for {} Running pods",
                        crate::report::num(s),
                        c.running
                    ),
                )
            }
            None => {
                self.unread(
                    "load.ratio-in-band",
                    "Prometheus did not answer the sessions query".into(),
                );
                return;
            }
        };
        self.set("load.ratio-in-band", outcome, measured, message);
    }

    /// After the sessions stop: back to the baseline pods.
    fn judge_down(&mut self, t: f64) {
        let Some(stop) = self.stopped else { return };
        let c = self.track.counts();
        let since = t - stop;
        let gone_within = self.plan.gone_within_seconds;
        let back = c.live <= self.baseline_pods;
        let all_gone = self.track.new_pods_gone();
        match self.plan.kind {
            Kind::Single if self.track.first_new_pod().is_none() => {
                let why = "no pod was created, so none had to go".to_string();
                self.set("single.scale-down", Outcome::Skip, None, why.clone());
                self.set("single.pods-gone", Outcome::Skip, None, why);
            }
            Kind::Single => {
                let terminating = self.track.scale_down_at().map(|x| (x - stop).max(0.0));
                self.by_deadline(
                    "single.scale-down",
                    since,
                    terminating.filter(|_| back),
                    self.plan.scale_down_target_seconds,
                    format!(
                        "{} pod(s) still not terminating {} after the session stopped",
                        c.live,
                        secs(since)
                    ),
                );
                self.by_deadline(
                    "single.pods-gone",
                    since,
                    all_gone.then_some(since),
                    gone_within,
                    format!("pods still there {} after the session stopped", secs(since)),
                );
            }
            Kind::Multi | Kind::Load => {
                let id = if self.plan.kind == Kind::Multi {
                    "multi.back-to-baseline"
                } else {
                    "load.back-to-baseline"
                };
                self.by_deadline(
                    id,
                    since,
                    back.then_some(since),
                    gone_within,
                    format!(
                        "{} pods {} after the sessions stopped, baseline {}",
                        c.live,
                        secs(since),
                        self.baseline_pods
                    ),
                );
            }
        }
    }
}

/// Which phase of the first pod's start is slow, in words, at time `t`.
fn slow_phase(pod: Option<&PodTrack>, t: f64) -> String {
    let Some(p) = pod else {
        return "no pod was created (the scale decision never came)".into();
    };
    let created = p.first_seen;
    match (p.running, p.ready) {
        (None, _) => format!(
            "pod start is the slow phase: created at {}, still {} after {}",
            secs(created),
            p.status,
            secs(t - created)
        ),
        (Some(r), None) => format!(
            "readiness is the slow phase: Running at {}, not Ready after {}",
            secs(r),
            secs(t - r)
        ),
        (Some(r), Some(ready)) => {
            let phases = [
                ("the scale decision (session → pod created)", created),
                ("pod start (created → Running)", r - created),
                ("readiness (Running → Ready)", ready - r),
            ];
            let (name, took) = phases
                .iter()
                .copied()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .expect("three phases");
            format!("the slowest phase was {name}: {}", secs(took))
        }
    }
}

/// Whether a pod counts as a game pod that is still there (not terminating).
fn live(p: &PodInfo) -> bool {
    p.deleting.is_none() && p.phase != "Succeeded" && p.phase != "Failed"
}

#[cfg(test)]
mod tests;
